import { info } from '../../info';
import { UsageError, type Command } from '../command';

export const infoCommand: Command = {
  name: 'info',
  summary:
    'Show the sphereface version, libtorch, CUDA devices, threads, BLAS, conv kernels and ' +
    'distributed backends, image decoders',
  usage: 'sphereface info [--json]',
  options: {},
  async run(_values, positionals, out) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const about = info();
    out.result(about);
    const cuda = about.cuda.available
      ? `yes (${about.cuda.devices.join(', ') || 'unnamed devices'})`
      : 'no';
    out.line(`sphereface   ${about.version}`);
    out.line(`libtorch     ${about.torch.version} from ${about.torch.source}`);
    out.line(
      `CUDA         ${cuda}; fused-loss CUDA kernels ${about.cuda.kernels ? 'built' : 'not built'}`,
    );
    const loss = {
      'cuda-kernel': 'the loss on its CUDA kernel',
      'cpu-kernel-on-copies': 'the loss on its CPU kernel, on copies (built without nvcc)',
      none: 'the CPU',
    }[about.cuda.loss];
    out.line(`device auto  ${about.cuda.autoDevice}${about.cuda.available ? `: ${loss}` : ''}`);
    out.line(`threads      ${about.threads} intra-op (of ${about.cores} cores)`);
    out.line(`BLAS         ${about.blas}`);
    out.line(
      `convs        residual 3x3: ${about.winograd ? `oneDNN Winograd${about.blockedConvs ? ' (embed: nChw16c between convs)' : ''}` : 'direct (at::conv2d)'}; ` +
        `sphere-cnn4: ${about.blockedConvs ? 'oneDNN blocked (nChw16c)' : 'direct (at::conv2d)'}`,
    );
    out.line(`distributed  ${about.distributed.join(', ') || 'none (built without Gloo)'}`);
    out.line(
      `decoding     ${about.jpegDecoder ? `plain JPEGs: ${about.jpegDecoder}; the rest: sharp` : 'sharp (built without libjpeg-turbo)'}`,
    );
    return 0;
  },
};
