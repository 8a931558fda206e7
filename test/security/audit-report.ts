// The testssl summary in docs/security.md: the section between two markers is rewritten,
// the threat model around it is left as written.
import { readFileSync, writeFileSync } from 'node:fs';
import { BASE_ARGS, bySeverity, finding, type Audit, type Finding } from './helpers/testssl.ts';

export const BEGIN = '<!-- testssl:begin (written by node test/security/audit.ts) -->';
export const END = '<!-- testssl:end -->';

const command = (a: Audit): string => `testssl ${[...BASE_ARGS, ...a.args].join(' ')} HOST:PORT`;

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function table (findings: readonly Finding[], ids: string[]): string[] {
  const rows = ids.map((id) => finding(findings, id)).filter((f): f is Finding => f !== undefined);
  return ['| check | severity | finding |', '|---|---|---|', ...rows.map((f) => `| ${f.id} | ${f.severity} | ${cell(f.finding)} |`)];
}

/** Everything testssl rated above OK/INFO, so a reader sees each one and why it is there. */
function notable (findings: readonly Finding[]): string[] {
  const rows = findings.filter((f) => !['OK', 'INFO'].includes(f.severity));
  if (rows.length === 0) return ['Nothing rated above OK/INFO.'];
  return ['| check | severity | finding |', '|---|---|---|', ...rows.map((f) => `| ${f.id} | ${f.severity} | ${cell(f.finding)} |`)];
}

export interface AuditRecord { full: Audit; defaults: Audit; when: Date; warmshake: string; node: string; openssl: string }

export function renderAudit (r: AuditRecord): string {
  const f = r.full.findings;
  const vulns = f.filter((x) => x.cve !== undefined || ['heartbleed', 'CCS', 'ticketbleed', 'ROBOT', 'secure_renego', 'secure_client_renego', 'CRIME_TLS', 'BREACH', 'POODLE_SSL', 'fallback_SCSV', 'SWEET32', 'FREAK', 'DROWN', 'LOGJAM', 'BEAST', 'LUCKY13', 'RC4'].includes(x.id));
  return [
    BEGIN,
    `Run ${r.when.toISOString().slice(0, 10)} with testssl ${r.full.version} against warmshake ${r.warmshake} (Node ${r.node}, OpenSSL ${r.openssl}) on 127.0.0.1,`,
    'with a certificate from a test CA (handed to testssl with `--add-ca`) that carries a CRL URI, as an issued certificate',
    'would: the certificate checks then judge what warmshake serves, not the shortcuts of a self-signed test certificate.',
    '',
    `- Full run, default policy: \`${command(r.full)}\` (every check testssl runs by default, ${r.full.seconds} s):`,
    `  ${Object.entries(bySeverity(f)).map(([s, n]) => `${s} ${n}`).join(', ')}.`,
    `- Server defaults on a TLS 1.2-only frontend: \`${command(r.defaults)}\` (${r.defaults.seconds} s):`,
    `  ${Object.entries(bySeverity(r.defaults.findings)).map(([s, n]) => `${s} ${n}`).join(', ')}; session resumption by ticket`,
    `  **${finding(r.defaults.findings, 'sessionresumption_ticket')?.finding ?? '?'}**, by id **${finding(r.defaults.findings, 'sessionresumption_ID')?.finding ?? '?'}**.`,
    '',
    'Protocols, forward secrecy, ciphers (default frontend):',
    '',
    ...table(f, ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1', 'TLS1_2', 'TLS1_3', 'cipherlist_NULL', 'cipherlist_aNULL', 'cipherlist_EXPORT', 'cipherlist_LOW', 'cipherlist_3DES_IDEA', 'cipherlist_AVERAGE', 'cipherlist_STRONG', 'PFS', 'PFS_ciphers', 'PFS_ECDHE_curves', 'TLS_session_ticket', 'SSL_sessionID_support', 'sessionresumption_ticket', 'sessionresumption_ID']),
    '',
    'Vulnerabilities:',
    '',
    ...table(f, vulns.map((v) => v.id)),
    '',
    'Everything rated above OK/INFO in the full run:',
    '',
    ...notable(f),
    '',
    'Findings on HTTP headers (HSTS, security headers) judge the HTTP answer of the backend, here a test backend that',
    'answers `hello`; warmshake passes HTTP through untouched.',
    END,
  ].join('\n');
}

/** Replaces the marked section of `file` (appends it when the markers are missing). */
export function writeAuditSection (file: string, section: string): void {
  const text = readFileSync(file, 'utf8');
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  const next = begin >= 0 && end > begin ? text.slice(0, begin) + section + text.slice(end + END.length) : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
}
