import { expect } from 'chai';
import { Output } from '../../lib/cli/output';
import { countText, ProgressLine, trainingText } from '../../lib/cli/progress';

function sink(isTTY: boolean) {
  const stream = {
    isTTY,
    columns: 200,
    text: '',
    write: (t: string) => ((stream.text += t), true),
  };
  return stream;
}

describe('CLI progress', () => {
  it('redraws one line on a terminal at most every 100 ms, and clears it', () => {
    let now = 0;
    const tty = sink(true);
    const line = new ProgressLine(tty, { now: () => now });
    line.update('a');
    now = 50;
    line.update('b'); // too soon: dropped
    now = 150;
    line.update('c');
    line.clear();
    expect(tty.text).to.equal('\r\x1b[2Ka\r\x1b[2Kc\r\x1b[2K');
  });

  it('writes a plain line every 30 s off a terminal, and a forced last line', () => {
    let now = 0;
    const log = sink(false);
    const line = new ProgressLine(log, { now: () => now });
    for (now = 0; now <= 65_000; now += 1000) line.update(`t=${now}`);
    line.update('done', true);
    expect(log.text).to.equal('t=0\nt=30000\nt=60000\ndone\n');
  });

  it('keeps stdout to results: lines for people, one JSON line under --json', () => {
    for (const json of [false, true]) {
      const stdout = sink(false);
      const stderr = sink(false);
      const out = new Output(json, { stdout, stderr });
      const counter = out.counter('decoding');
      counter(1, 2);
      out.line('a result');
      counter(2, 2);
      out.result({ accuracy: 0.9 });
      if (json) {
        expect(stdout.text).to.equal('{"accuracy":0.9}\n');
        expect(stderr.text).to.equal(''); // no progress in a machine's stderr
      } else {
        expect(stdout.text).to.equal('a result\n');
        expect(stderr.text).to.match(/^decoding \[#{10}-{10}\] 1\/2 .*\ndecoding \[#{20}\] 2\/2 /);
      }
    }
  });

  it('formats counted phases and training steps', () => {
    expect(countText('embedding', 50, 200, 5)).to.equal(
      'embedding [#####---------------] 50/200 10 img/s ETA 00:15',
    );
    const text = trainingText({
      iteration: 1,
      totalIterations: 2,
      epoch: 1,
      loss: 1.23456,
      accuracy: 0.5,
      lr: 0.1,
      lambda: 1000,
      imagesPerSecond: 64,
      n: 32,
    });
    expect(text).to.equal(
      '[##########----------] 1/2 ep 1 loss 1.2346 acc 0.500 lambda 1.00e+3 lr 0.100 64 img/s ETA 00:01',
    );
  });
});
