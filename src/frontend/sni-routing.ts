import type { FrontendConfig } from '../config/types.ts';

/** The backend for a connection: the first `use_backend` rule matching the SNI, else the default. */
export function backendForSni (frontend: FrontendConfig, sni: string | undefined): string {
  if (sni) {
    for (const rule of frontend.use_backend) {
      const name = rule.sni.toLowerCase();
      if (name.startsWith('*.') ? sni.endsWith(name.slice(1)) && sni.length > name.length - 1 : sni === name) return rule.backend;
    }
  }
  return frontend.backend;
}
