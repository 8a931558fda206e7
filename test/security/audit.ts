// `node test/security/audit.ts`: the full testssl audit the test suite only samples
// (test/security/testssl.test.ts). Starts warmshake with its default policy behind a
// CA-signed certificate, runs every check testssl runs by default against it (about two
// minutes here) and the server-defaults checks against a TLS 1.2-only frontend (see the
// test for why resumption is judged there), prints one JSON line per run, rewrites the
// testssl section of docs/security.md, and exits 1 on any HIGH or CRITICAL finding.
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { versions } from '../../src/version.ts';
import { bySeverity, finding, runTestssl, severe, startAuditTarget, testsslMissing, type Audit } from './helpers/testssl.ts';
import { renderAudit, writeAuditSection } from './audit-report.ts';

const DOC = fileURLToPath(new URL('../../docs/security.md', import.meta.url));

/** The test helpers clean up through `t.after`; here the hooks run when the audit ends. */
function cleanupContext (): { t: TestContext; cleanUp (): Promise<void> } {
  const hooks: Array<() => unknown> = [];
  const t = { after: (fn: () => unknown) => { hooks.push(fn); } } as unknown as TestContext;
  // Last registered first: warmshake stops before its directory goes.
  return { t, cleanUp: async () => { for (const fn of hooks.reverse()) await fn(); } };
}

function line (name: string, audit: Audit): string {
  return JSON.stringify({
    audit: name, testssl: audit.version, target: audit.target, args: audit.args, seconds: audit.seconds, severities: bySeverity(audit.findings),
    severe: severe(audit.findings).map((f) => `${f.id}: ${f.finding}`),
    pfs: finding(audit.findings, 'PFS')?.finding, ticket: finding(audit.findings, 'sessionresumption_ticket')?.finding, id: finding(audit.findings, 'sessionresumption_ID')?.finding,
  });
}

async function main (): Promise<number> {
  const missing = testsslMissing();
  if (missing) { process.stderr.write(`${missing}\n`); return 2; }
  const { t, cleanUp } = cleanupContext();
  try {
    const { dir, ws, ca: caFile } = await startAuditTarget(t, 'warmshake-audit-');
    const ca = ['--add-ca', caFile];
    const [full, defaults] = await Promise.all([
      runTestssl(`127.0.0.1:${ws.ports.default}`, ca, join(dir, 'full.json'), 900_000),
      runTestssl(`127.0.0.1:${ws.ports.tls12}`, [...ca, '-S'], join(dir, 'defaults.json')),
    ]);
    process.stdout.write(`${line('full', full)}\n${line('server-defaults-tls12', defaults)}\n`);
    // The CA file lives in a temporary directory: the report names the option, not the path.
    const shown = (a: Audit): Audit => ({ ...a, args: a.args.map((x) => (x === caFile ? 'ca.crt' : x)) });
    const v = versions();
    writeAuditSection(DOC, renderAudit({ full: shown(full), defaults: shown(defaults), when: new Date(), warmshake: v.warmshake, node: v.node, openssl: v.openssl }));
    process.stdout.write(`wrote the testssl section of ${DOC}\n`);
    return severe(full.findings).length + severe(defaults.findings).length === 0 ? 0 : 1;
  } finally {
    await cleanUp();
  }
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`audit failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exitCode = 1;
});
