/**
 * The one place text from files, folders and flags is made safe for the two formats that would
 * otherwise run it: HTML (the report) and CSV (opened in a spreadsheet).
 */

/** Text for HTML element content and quoted attribute values. */
export const escapeHtml = (s: string): string =>
  String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

/**
 * One CSV cell. Numbers are written as they are; text that a spreadsheet would read as a formula
 * (starting with =, +, -, @, a tab or a carriage return, and not a plain number) gets a leading
 * apostrophe (OWASP's advice), then the usual quoting for commas, quotes and line breaks.
 */
export function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  // A plain number written as text ("-0.5000") is not a formula and stays readable as a number.
  const t = /^[=+\-@\t\r]/.test(v) && !/^[-+]?\d*\.?\d+(e[-+]?\d+)?$/i.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}
