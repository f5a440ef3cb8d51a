import { expect } from 'chai';
import { Writable } from 'node:stream';
import { ProgressBar } from '../../lib/data/progress-bar';

function sink(isTTY: boolean): Writable & { isTTY: boolean; text: string } {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      stream.text += chunk.toString();
      done();
    },
  }) as Writable & { isTTY: boolean; text: string };
  stream.isTTY = isTTY;
  stream.text = '';
  return stream;
}

describe('ProgressBar', () => {
  it('draws on a TTY and ends with the full count', async () => {
    const tty = sink(true);
    const bar = new ProgressBar(4, 'decoding', tty);
    for (let i = 1; i <= 4; i++) bar.update(i);
    bar.finish();
    await new Promise((r) => setImmediate(r));
    expect(tty.text).to.match(/^\rdecoding \[#/);
    expect(tty.text).to.match(/\] 4\/4 \d+ img\/s \n$/);
  });

  it('stays silent when the stream is not a terminal', async () => {
    const file = sink(false);
    const bar = new ProgressBar(4, 'decoding', file);
    for (let i = 1; i <= 4; i++) bar.update(i);
    bar.finish();
    await new Promise((r) => setImmediate(r));
    expect(file.text).to.equal('');
  });
});
