import * as path from 'node:path';
import { ARCHS } from '../../models/archs';
import { NORMALISATION } from '../../models/defaults';
import { importStateDict } from '../../models/model';
import { choiceArg, integerArg, numberArg, positiveArg, requiredString } from '../args';
import { UsageError, type Command } from '../command';
import { describeHead } from '../../ops/margin-head';
import { checkOutputFile } from '../output-paths';
import { headOptions, readHead } from '../training-args';
import { makeFolder } from '../../util/make-folder';

export const importCommand: Command = {
  name: 'import',
  summary: "Make a model file from a PyTorch state_dict (ours, or clcarwin's sphere20a)",
  usage:
    'sphereface import --state-dict FILE --arch ARCH [--classes N] [--head KIND --m M --scale S]\n' +
    '       [--mean M --std S] --out model.sfm [--weights-only]',
  notes:
    "Reads torch.save's zip format: a state_dict `sphereface export` or python/sphereface_torch.py\n" +
    "wrote, or clcarwin/sphereface_pytorch's sphere20a (--arch sphere20a). A legacy (pre-1.6)\n" +
    'file is converted once with PyTorch, as the error for one says. A state_dict holds no\n' +
    "margin: --head (default sphere, m 4) says the model's, for training on and for its file,\n" +
    'nor any preprocessing: --mean and --std say what the weights were trained on.',
  options: {
    'state-dict': { type: 'string', value: 'FILE', description: 'the PyTorch file (net.pt)' },
    arch: { type: 'string', value: 'ARCH', description: `the net: ${ARCHS.join(', ')}` },
    classes: {
      type: 'string',
      value: 'N',
      description: "the head's classes; needed, and a fresh head made, when the file has none",
    },
    ...headOptions,
    mean: {
      type: 'string',
      value: 'M',
      description: 'preprocessing (x - M) / S of the uint8 pixels',
      default: NORMALISATION.mean,
    },
    std: { type: 'string', value: 'S', description: 'see --mean', default: NORMALISATION.std },
    out: { type: 'string', short: 'o', value: 'FILE', description: 'the model file to write' },
    'weights-only': {
      type: 'boolean',
      description: 'write the model file without optimiser state',
    },
  },
  async run(values, positionals, out) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const file = requiredString(values, 'state-dict');
    requiredString(values, 'arch');
    const arch = choiceArg(values, 'arch', ARCHS, ARCHS[0]);
    const classes = integerArg(values, 'classes', 2);
    const head = readHead(values, undefined);
    const mean = numberArg(values, 'mean', NORMALISATION.mean);
    const std = positiveArg(values, 'std', NORMALISATION.std);
    const outFile = requiredString(values, 'out');
    await checkOutputFile('out', outFile, [{ flag: 'state-dict', file }]);
    const model = await importStateDict(file, { arch, classes, head, mean, std, device: 'cpu' });
    try {
      await makeFolder(path.dirname(path.resolve(outFile)), 'the folder of --out');
      await model.save(outFile, { weightsOnly: values['weights-only'] === true });
      out.result({ stateDict: file, arch, classes: model.classes, head, mean, std, out: outFile });
      out.line(
        `wrote ${outFile}: ${arch} with a ${model.classes}-class ${describeHead(head)} head`,
      );
      return 0;
    } finally {
      model.dispose();
    }
  },
};
