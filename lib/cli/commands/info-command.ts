import { info } from '../../info';
import type { Command } from '../command';

export const infoCommand: Command = {
  name: 'info',
  summary: 'Show the sphereface version, libtorch, CUDA devices, threads, BLAS and conv kernels',
  usage: 'sphereface info [--json]',
  options: {},
  async run(values) {
    const about = info();
    if (values.json) {
      console.log(JSON.stringify(about, null, 2));
      return 0;
    }
    const cuda = about.cuda.available
      ? `yes (${about.cuda.devices.join(', ') || 'unnamed devices'})`
      : 'no';
    console.log(`sphereface   ${about.version}`);
    console.log(`libtorch     ${about.torch.version} from ${about.torch.source}`);
    console.log(
      `CUDA         ${cuda}; fused-loss CUDA kernels ${about.cuda.kernels ? 'built' : 'not built'}`,
    );
    console.log(`threads      ${about.threads} intra-op (of ${about.cores} cores)`);
    console.log(`BLAS         ${about.blas}`);
    console.log(
      `convs        residual 3x3: ${about.winograd ? 'oneDNN Winograd' : 'direct (at::conv2d)'}; ` +
        `sphere-cnn4: ${about.blockedConvs ? 'oneDNN blocked (nChw16c)' : 'direct (at::conv2d)'}`,
    );
    return 0;
  },
};
