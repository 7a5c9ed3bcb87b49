/**
 * Inputs a command sets aside are named, never only counted: the first ten with their reasons on
 * stderr, then where the whole list is (a file the command wrote, or the lines that follow).
 */
export interface SkippedItem {
  file: string;
  reason: string;
}

export const SHOWN_SKIPPED = 10;

export function formatSkipped(items: readonly SkippedItem[], what: string, listFile: string | null): string[] {
  if (!items.length) return [];
  const lines = [`${what}: skipped ${items.length}:`];
  const shown = listFile ? items.slice(0, SHOWN_SKIPPED) : items;
  for (const s of shown) lines.push(`  skipped ${s.file}: ${s.reason}`);
  if (listFile) lines.push(`  ${items.length > shown.length ? `... ${items.length - shown.length} more; ` : ''}the full list is in ${listFile}`);
  return lines;
}

/** The list as a file: one `file<TAB>reason` line each. */
export const skippedListText = (items: readonly SkippedItem[]): string => items.map((s) => `${s.file}\t${s.reason.replace(/[\t\n]/g, ' ')}`).join('\n') + '\n';
