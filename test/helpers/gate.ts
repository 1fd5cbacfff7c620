import net from 'node:net';

/**
 * A TCP proxy in front of the hub that lets a push start and then holds its body: once a
 * git-receive-pack request has sent `holdAfter` bytes, the rest waits until `release()`.
 */
export async function startGate(target: number, holdAfter = 64 * 1024) {
  let engaged: () => void = () => undefined;
  const engagedOnce = new Promise<void>((r) => (engaged = r));
  const releases: (() => void)[] = [];
  let released = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    let push = false;
    let sent = 0;
    const held: Buffer[] = [];
    let holding = false;
    client.on('data', (chunk: Buffer) => {
      if (!push && /POST [^ ]*git-receive-pack/.test(chunk.toString('latin1', 0, 200))) push = true;
      if (holding) {
        held.push(chunk);
        return;
      }
      if (push && !released && sent + chunk.length > holdAfter) {
        upstream.write(chunk.subarray(0, holdAfter - sent));
        held.push(chunk.subarray(holdAfter - sent));
        sent = holdAfter;
        holding = true;
        releases.push(() => {
          holding = false;
          for (const c of held.splice(0)) upstream.write(c);
        });
        engaged();
        return;
      }
      sent += push ? chunk.length : 0;
      upstream.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    engaged: engagedOnce,
    release() {
      released = true;
      for (const r of releases.splice(0)) r();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

