/**
 * The latency probe of bench:files, run as a process of its own:
 *   node latency-probe.js <url> <bearer token> <requests per second> <milliseconds>
 * sends GET requests to <url> at a steady rate for <milliseconds> and prints the latency of each
 * (ms) as one JSON array on stdout.
 *
 * - Open loop: a request is sent when it is due, whether or not the ones before it have been
 *   answered, and timed from when it was due. A service that stalls is charged for every request
 *   that waited, not only for the one it was serving (no coordinated omission), and the probe
 *   does not slow down to match the service.
 * - A process of its own: the bench's main process also sends the uploads, and a probe on its
 *   event loop would start and stop its clock late behind that work, and charge the client's
 *   stalls to the service.
 */
const [url, token, rateText, millisecondsText] = process.argv.slice(2);
const rate = Number(rateText);
const milliseconds = Number(millisecondsText);
if (!url || !token || !(rate > 0) || !(milliseconds > 0)) {
  console.error('usage: latency-probe <url> <bearer token> <requests per second> <milliseconds>');
  process.exit(2);
}

async function timed(due: number): Promise<number> {
  const response = await fetch(url!, { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`GET ${url} → ${response.status}`);
  return performance.now() - due;
}

// Warm: the first requests load and compile the client's code and open its connections.
for (let i = 0; i < 50; i++) await timed(performance.now());

const start = performance.now() + 50;
const count = Math.floor((milliseconds / 1000) * rate);
const requests: Promise<number>[] = [];
for (let i = 0; i < count; i++) {
  const due = start + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  requests.push(timed(due));
}
process.stdout.write(JSON.stringify(await Promise.all(requests)));
