/**
 * Flags are declared once per command, as plain values: kind, default, range and help text.
 * From that one table come the commander options (so `--help` lists every default), the
 * parsing, and the one-line errors, which therefore cannot drift apart.
 *
 * Names are the seed's snake_case (`min_year`); both `--min_year` and `--min-year` are accepted.
 */
import { existsSync, statSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { UserError } from './errors.js';

export type FlagKind = 'int' | 'float' | 'string' | 'bool' | 'list' | 'path';

export interface FlagSpec {
  kind: FlagKind;
  help: string;
  default?: number | string | boolean | readonly string[];
  /** Placeholder in --help, e.g. `<year>`. */
  arg?: string;
  min?: number;
  max?: number;
  choices?: readonly string[];
  /** For 'path': the path must already exist as this. */
  exists?: 'dir' | 'file' | 'any';
  /** Short alias such as `-o`. */
  short?: string;
}

export type FlagTable = Record<string, FlagSpec>;

type ValueOfKind<K extends FlagKind> = K extends 'int' | 'float'
  ? number
  : K extends 'bool'
    ? boolean
    : K extends 'list'
      ? string[]
      : string;

/** The parsed values of a flag table: flags with a default are always present. */
export type FlagValues<T extends FlagTable> = {
  [P in keyof T]: T[P] extends { default: unknown } ? ValueOfKind<T[P]['kind']> : ValueOfKind<T[P]['kind']> | undefined;
};

export function defineFlags<const T extends FlagTable>(table: T): T {
  return table;
}

export const kebab = (name: string): string => name.replace(/_/g, '-');
const camel = (name: string): string => name.replace(/[_-]([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function describeRange(spec: FlagSpec): string {
  if (spec.choices) return `one of ${spec.choices.join(', ')}`;
  const what = spec.kind === 'int' ? 'a whole number' : 'a number';
  if (spec.min !== undefined && spec.max !== undefined) return `${what} from ${spec.min} to ${spec.max}`;
  if (spec.min !== undefined) return `${what} >= ${spec.min}`;
  if (spec.max !== undefined) return `${what} <= ${spec.max}`;
  return what;
}

/** Parses one raw value; the message of a failure says what is accepted. */
export function parseFlagValue(name: string, spec: FlagSpec, raw: string): unknown {
  const flag = `--${name}`;
  switch (spec.kind) {
    case 'int':
    case 'float': {
      const n = Number(raw);
      const bad =
        raw.trim() === '' ||
        !Number.isFinite(n) ||
        (spec.kind === 'int' && !Number.isInteger(n)) ||
        (spec.min !== undefined && n < spec.min) ||
        (spec.max !== undefined && n > spec.max);
      if (bad) throw new InvalidArgumentError(`${flag} takes ${describeRange(spec)}, got '${raw}'`);
      return n;
    }
    case 'bool': {
      const v = raw.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      throw new InvalidArgumentError(`${flag} takes true or false, got '${raw}'`);
    }
    case 'list': {
      const items = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (spec.choices) {
        const bad = items.filter((i) => !spec.choices!.includes(i));
        if (bad.length) {
          throw new InvalidArgumentError(`${flag}: unknown ${bad.join(', ')}; valid: ${spec.choices.join(', ')}`);
        }
      }
      return items;
    }
    case 'path': {
      if (raw.trim() === '') throw new InvalidArgumentError(`${flag} needs a path`);
      checkPath(flag, spec, raw);
      return raw;
    }
    case 'string': {
      if (spec.choices && !spec.choices.includes(raw)) {
        throw new InvalidArgumentError(`${flag} takes ${describeRange(spec)}, got '${raw}'`);
      }
      return raw;
    }
  }
}

function checkPath(flag: string, spec: FlagSpec, p: string): void {
  if (!spec.exists) return;
  if (!existsSync(p)) {
    throw new InvalidArgumentError(`${flag}: ${p} does not exist`);
  }
  const st = statSync(p);
  if (spec.exists === 'dir' && !st.isDirectory()) throw new InvalidArgumentError(`${flag}: ${p} is not a directory`);
  if (spec.exists === 'file' && !st.isFile()) throw new InvalidArgumentError(`${flag}: ${p} is not a file`);
}

function formatDefault(v: FlagSpec['default']): string {
  if (Array.isArray(v)) return v.length ? v.join(',') : '(none)';
  return String(v);
}

/** Adds the table's options to a commander command. */
export function addFlags(cmd: Command, table: FlagTable): Command {
  for (const [name, spec] of Object.entries(table)) {
    const long = `--${kebab(name)}`;
    const placeholder =
      spec.kind === 'bool'
        ? '[bool]'
        : `<${spec.arg ?? (spec.kind === 'list' ? 'a,b' : spec.kind === 'path' ? 'path' : spec.kind === 'int' || spec.kind === 'float' ? 'n' : 'value')}>`;
    const flags = `${spec.short ? `${spec.short}, ` : ''}${long} ${placeholder}`;
    const also = name.includes('_') ? ` (also --${name})` : '';
    const opt = new Option(flags, spec.help + also);
    opt.argParser((raw: string) => parseFlagValue(name, spec, raw));
    if (spec.default !== undefined) {
      opt.default(spec.default, formatDefault(spec.default));
    }
    cmd.addOption(opt);
  }
  return cmd;
}

/**
 * Reads the table's values back from commander (keyed by the snake_case names) and checks
 * defaults of 'path' flags that must exist, since commander does not parse defaults.
 */
export function readFlags<T extends FlagTable>(cmd: Command, table: T): FlagValues<T> {
  const raw = cmd.opts() as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(table)) {
    let v = raw[camel(name)];
    if (v === 'true' && spec.kind === 'bool') v = true;
    if (Array.isArray(v)) v = [...v];
    if (spec.kind === 'path' && typeof v === 'string') {
      try {
        checkPath(`--${kebab(name)}`, spec, v);
      } catch (err) {
        throw new UserError((err as Error).message);
      }
    }
    out[name] = v;
  }
  return out as FlagValues<T>;
}

/**
 * The seed spells flags in snake_case and its scripts with one dash (`-min_year=1980`,
 * `-download`); commander knows them as `--min-year`. Rewriting the names (never the values)
 * before parsing makes every spelling work everywhere. A single-dash word becomes a long flag
 * only when it names one of `longNames` (kebab-case, without dashes), so short flags (`-o`)
 * and negative numbers pass through untouched.
 */
export function normalizeArgv(argv: readonly string[], longNames: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  let passthrough = false;
  for (const a of argv) {
    if (a === '--' && !passthrough) {
      passthrough = true;
      out.push(a);
      continue;
    }
    const single = /^-[A-Za-z]/.test(a) && !a.startsWith('--');
    if (passthrough || !(a.startsWith('--') || single)) {
      out.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = (eq < 0 ? a : a.slice(0, eq)).replace(/^-+/, '').replace(/_/g, '-');
    const rest = eq < 0 ? '' : a.slice(eq);
    if (single && !longNames.has(name)) {
      out.push(a);
      continue;
    }
    out.push(`--${name}${rest}`);
  }
  return out;
}

/** Every long option name (kebab-case, no dashes) of a command and its subcommands. */
export function longOptionNames(cmd: Command, into: Set<string> = new Set()): Set<string> {
  for (const o of cmd.options) if (o.long) into.add(o.long.replace(/^--/, ''));
  for (const c of cmd.commands) longOptionNames(c, into);
  return into;
}

/** Said once at the end of every --help. */
export const SPELLING_NOTE =
  'Flags may be written as the seed wrote them: --min_year=1980, --min-year 1980 or -min_year=1980 (one dash) all work.';
