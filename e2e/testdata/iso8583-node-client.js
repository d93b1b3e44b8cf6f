// An acquirer client on another language's ISO 8583 library (npm iso_8583, its default spec:
// ASCII fields, a binary bitmap of primary and secondary, a 2-byte length). It reads a JSON list of
// messages (field number -> value) on standard input, sends them all on one connection, and
// prints each answer, unpacked by the library, as one JSON line.
const net = require('net');
const iso8583 = require('iso_8583');

const [host, port] = process.argv[2].split(':');
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const messages = JSON.parse(input);
  const sock = net.connect(Number(port), host, () => {
    for (const m of messages) {
      const buf = new iso8583(m).getBufferMessage();
      if (buf.error) { console.error(buf.error); process.exit(1); }
      sock.write(buf);
    }
  });
  let pending = Buffer.alloc(0);
  let answered = 0;
  sock.on('data', (d) => {
    pending = Buffer.concat([pending, d]);
    while (pending.length >= 2) {
      const n = pending.readUInt16BE(0);
      if (pending.length < 2 + n) break;
      const frame = pending.subarray(0, 2 + n);
      pending = pending.subarray(2 + n);
      console.log(JSON.stringify(new iso8583().getIsoJSON(frame)));
      if (++answered === messages.length) sock.end();
    }
  });
  sock.on('error', (e) => { console.error(e.message); process.exit(1); });
  setTimeout(() => { console.error('timeout'); process.exit(1); }, 20000).unref();
});
