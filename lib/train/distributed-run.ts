// What a Trainer does as one rank of a distributed run: join the group, hand it to the model,
// and check that every rank is about to run the same steps from the same position.
import type { BatchSource } from '../data/types';
import type { DistributedOptions } from '../dist/distributed-options';
import { processGroupOf, type ProcessGroup } from '../dist/process-group';
import type { FaceModel } from '../models/types';

/** The run's group (and whether the Trainer made it), with the model joined to it. */
export async function joinDistributedRun(
  distributed: DistributedOptions | ProcessGroup,
  model: FaceModel,
  data: BatchSource,
): Promise<{ group: ProcessGroup; owned: boolean }> {
  const joinGroup = model.joinGroup?.bind(model);
  if (!joinGroup) {
    throw new TypeError(`distributed: the model (${model.arch}) cannot join a distributed run`);
  }
  const { group, owned } = await processGroupOf(distributed);
  try {
    const rank = data.rank ?? 0;
    const worldSize = data.worldSize ?? 1;
    if (rank !== group.rank || worldSize !== group.worldSize) {
      throw new RangeError(
        `distributed: the data serves rank ${rank} of ${worldSize} but this process is rank ` +
          `${group.rank} of ${group.worldSize}; give the loader { rank, worldSize } of the group`,
      );
    }
    await joinGroup(group);
    return { group, owned };
  } catch (error) {
    if (owned) group.dispose();
    throw error;
  }
}

/**
 * Throws on every rank unless every rank holds the same `values` (by name): the
 * position a run starts from and the settings that decide which steps it takes.
 */
export async function expectSameOnEveryRank(
  group: ProcessGroup,
  values: Record<string, number>,
): Promise<void> {
  const names = Object.keys(values);
  const own = names.map((name) => values[name]);
  const reduced = await group.allReduce([...own, ...own.map((v) => -v)], 'max');
  const differing = names.filter(
    (_, i) => reduced[i] !== own[i] || -reduced[names.length + i] !== own[i],
  );
  if (differing.length > 0) {
    throw new Error(
      `distributed: rank ${group.rank}: the ranks differ in ${differing.join(', ')} ` +
        `(here ${differing.map((name) => `${name} ${values[name]}`).join(', ')}); every rank ` +
        'must run with the same options and resume from the same checkpoint',
    );
  }
}
