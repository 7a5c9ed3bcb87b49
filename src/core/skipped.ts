/**
 * Inputs a command sets aside are named, never only counted: the first ten with their reasons on
 * stderr, then where the whole list is (a file the command wrote, or the lines that follow).
 */
export interface SkippedItem {
  file: string;
  reason: string;
}

export const SHOWN_SKIPPED = 10;

/** The standard name of the list a command writes into its output folder. */
export const SKIPPED_LIST = 'skipped-inputs.txt';

/**
 * `listFile`: the file holding the whole list; null prints every item (the list is these lines);
 * false prints ten and says how many more, for a command with no folder of its own to keep the
 * list in (classify writing to stdout).
 */
export function formatSkipped(items: readonly SkippedItem[], what: string, listFile: string | null | false): string[] {
  if (!items.length) return [];
  const lines = [`${what}: skipped ${items.length}:`];
  const shown = listFile === null ? items : items.slice(0, SHOWN_SKIPPED);
  for (const s of shown) lines.push(`  skipped ${s.file}: ${s.reason}`);
  const more = items.length - shown.length;
  if (listFile) lines.push(`  ${more ? `... ${more} more; ` : ''}the full list is in ${listFile}`);
  else if (more) lines.push(`  ... ${more} more not shown`);
  return lines;
}

/** The list as a file: one `file<TAB>reason` line each. */
export const skippedListText = (items: readonly SkippedItem[]): string =>
  items.map((s) => `${s.file}\t${s.reason.replace(/[\t\n]/g, ' ')}`).join('\n') + '\n';
