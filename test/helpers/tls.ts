// A test CA and a certificate it signed, made with openssl in a folder of the test's own: what a
// DoT/DoH listener serves and what a client trusts. ECDSA P-256, ten years, SAN name and 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificate {
  /** The CA's certificate (PEM file): what a client trusts. */
  ca: string;
  /** The server's certificate chain and key (PEM files). */
  cert: string;
  key: string;
  /** The name in the certificate (and 127.0.0.1). */
  name: string;
}

const openssl = (args: string[], cwd: string): void => void execFileSync('openssl', args, { cwd, stdio: 'pipe' });

/** A CA (once per folder) and a server certificate `base`.pem/-key.pem for `name`, signed by it. */
export function makeCertificate(dir: string, name: string, base = 'server'): TestCertificate {
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca-key.pem');
  if (!existsSync(ca))
    openssl(
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
        ...['-keyout', caKey, '-out', ca, '-subj', '/CN=edgedns test CA', '-days', '3650'],
      ],
      dir,
    );
  const key = join(dir, `${base}-key.pem`);
  const csr = join(dir, `${base}.csr`);
  const cert = join(dir, `${base}.pem`);
  const ext = join(dir, `${base}.ext`);
  writeFileSync(ext, `subjectAltName=DNS:${name},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`);
  openssl(
    [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      `/CN=${name}`,
    ],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-days',
      '3650',
      '-extfile',
      ext,
      '-out',
      cert,
    ],
    dir,
  );
  return { ca, cert, key, name };
}
