// The only module that touches process: argv in, exit code out, signals. Each command
// loads its own modules, so `check` or `probe` start fast and need none of the server.
import { ConfigInvalidError, WarmshakeError } from '../errors.ts';
import { loadConfigFile } from '../config/load.ts';
import { formatTicketKeyFile } from '../tls/ticket-key-file.ts';
import { generateTicketKey } from '../tls/ticket-key.ts';
import { versions } from '../version.ts';
import { parseArgs, USAGE } from './args.ts';

const out = (text: string): void => { process.stdout.write(text.endsWith('\n') ? text : `${text}\n`); };

async function main (argv: string[]): Promise<number> {
  const cmd = parseArgs(argv);
  switch (cmd.command) {
    case 'help':
      out(USAGE);
      return 0;
    case 'version': {
      const v = versions();
      const { loadAddon } = await import('../native/addon.ts');
      const addon = loadAddon();
      out(`warmshake ${v.warmshake}\nnode ${v.node}\nopenssl ${v.openssl}\nengine ${addon.ok ? 'native' : `node (${addon.reason})`}`);
      return 0;
    }
    case 'check': {
      const { config, warnings } = loadConfigFile(cmd.config);
      for (const w of warnings) out(`warning: ${w}`);
      const { chooseEngine, describeChoice } = await import('../native/choice.ts');
      for (const line of describeChoice(chooseEngine(config))) out(line);
      out('configuration is valid');
      return 0;
    }
    case 'keys-generate': {
      out(formatTicketKeyFile(Array.from({ length: cmd.count }, () => generateTicketKey())).trimEnd());
      return 0;
    }
    case 'probe':
      return (await (await import('./probe.ts')).runProbe(cmd.options, out)).exitCode;
    case 'bench':
      return (await (await import('./bench/report.ts')).runBenchCommand(cmd.options, out)).exitCode;
    case 'ctl': {
      const ctl = await import('./ctl.ts');
      out(await ctl.sendAdminCommand(cmd.socket ?? ctl.DEFAULT_SOCKET, cmd.line));
      return 0;
    }
    case 'run': {
      // Loaded here only: `check`, `probe` and friends need none of the server.
      const server = await (await import('./server.ts')).startServer(cmd.config, process.cwd());
      let stopping = false;
      process.on('SIGHUP', () => { void server.reload(); });
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        server.log.info({ signal }, 'stopping: draining connections');
        server.stop().then(() => process.exit(0), () => process.exit(1));
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      return new Promise<number>(() => {});
    }
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
  if (err instanceof ConfigInvalidError) {
    process.stderr.write(`${err.problems.join('\n')}\n`);
  } else if (err instanceof WarmshakeError) {
    process.stderr.write(`warmshake: ${err.message} (${err.code})\n`);
  } else {
    process.stderr.write(`warmshake: ${(err as Error)?.stack ?? String(err)}\n`);
  }
  // A failed start has released what it took; exit now rather than wait on a timer or
  // a connection nobody will close.
  process.exit(1);
});
