import { expectInput } from '../../util/regular-file';
import * as path from 'node:path';
import { NORMALISATION } from '../../models/defaults';
import { loadModel } from '../../models/model';
import { requiredString } from '../args';
import { UsageError, type Command } from '../command';
import { checkOutputFile } from '../output-paths';
import { makeFolder } from '../../util/make-folder';

export const exportCommand: Command = {
  name: 'export',
  summary: "Write a model's weights as a PyTorch state_dict (torch.load reads it)",
  usage: 'sphereface export --model FILE --out net.pt',
  notes:
    "The file is torch.save's zip format: the net's and the head's float32 weights in layer\n" +
    "order, named as the package's python/sphereface_torch.py names them, so that\n" +
    "build(arch, classes).load_state_dict(torch.load('net.pt')) takes it as it is. It holds no\n" +
    "preprocessing: a model's other than (x - 127.5) / 128 is printed, for import --mean --std.",
  options: {
    model: { type: 'string', value: 'FILE', description: 'the model file (model.sfm)' },
    out: { type: 'string', short: 'o', value: 'FILE', description: 'the state_dict file to write' },
  },
  async run(values, positionals, out) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const modelFile = requiredString(values, 'model');
    const outFile = requiredString(values, 'out');
    expectInput(modelFile, 'model file');
    await checkOutputFile('out', outFile, [{ flag: 'model', file: modelFile }]);
    const model = await loadModel(modelFile);
    try {
      await makeFolder(path.dirname(path.resolve(outFile)), 'the folder of --out');
      await model.exportStateDict(outFile);
      const { mean, std } = model;
      out.result({
        model: modelFile,
        arch: model.arch,
        classes: model.classes,
        mean,
        std,
        out: outFile,
      });
      out.line(`wrote ${outFile}: ${model.arch} with a ${model.classes}-class head`);
      if (mean !== NORMALISATION.mean || std !== NORMALISATION.std) {
        // A state_dict holds tensors only: without this the round trip embeds otherwise.
        out.note(
          `${outFile} holds the weights but not the model's preprocessing (x - ${mean}) / ${std}: ` +
            `import it with --mean ${mean} --std ${std}, and in PyTorch use ` +
            `preprocess(images, mean=${mean}, std=${std})`,
        );
      }
      return 0;
    } finally {
      model.dispose();
    }
  },
};
