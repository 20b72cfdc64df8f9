// The CLI's flags -> run config (issue 11): each optimizer flag overrides its own field, presets,
// a BOM in a config file, refused values that used to be accepted, and the normalisation of `none`.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromFlags } from '../../src-main/cli/configFromFlags.js';
import { DEFAULT_RUN_CONFIG, normaliseRunConfig, parseRunConfig } from '../../shared/config.js';
import { RequestError, parseRequest } from '../../shared/contract.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'mixcd-cliconfig-'));
function configFile(name: string, text: string): string {
  const file = path.join(work, name);
  writeFileSync(file, text);
  return file;
}

describe('optimizer flags (issue 11, broken 1)', () => {
  it('--lr, --momentum and --optimizer each override only their own field over the defaults', () => {
    const defaults = DEFAULT_RUN_CONFIG.finetune.optimizer;
    expect(configFromFlags({ lr: '0.05' }).finetune.optimizer).toEqual({ ...defaults, lr: 0.05 });
    expect(configFromFlags({ momentum: '0.5' }).finetune.optimizer).toEqual({ ...defaults, momentum: 0.5 });
    expect(configFromFlags({ optimizer: 'sgd' }).finetune.optimizer).toEqual({ ...defaults, name: 'sgd' });
  });

  it('override the --config file field by field', () => {
    const file = configFile(
      'opt.json',
      JSON.stringify({ finetune: { optimizer: { name: 'adam', lr: 0.002, momentum: 0.8 } } }),
    );
    expect(configFromFlags({ lr: '0.05' }, file).finetune.optimizer).toEqual({ name: 'adam', lr: 0.05, momentum: 0.8 });
    const partial = configFile('partial.json', JSON.stringify({ finetune: { optimizer: { name: 'sgd' } } }));
    expect(configFromFlags({ momentum: '0.3' }, partial).finetune.optimizer).toEqual({
      name: 'sgd',
      lr: DEFAULT_RUN_CONFIG.finetune.optimizer.lr,
      momentum: 0.3,
    });
  });

  it('still names a bad optimizer value', () => {
    expect(() => configFromFlags({ optimizer: 'rmsprop' })).toThrow(
      /--optimizer .*"rmsprop".*"sgd", "momentum", "adam"/,
    );
  });
});

describe('accepted that should not be, and silent acceptance (issue 11)', () => {
  it('accepts a config file that starts with a UTF-8 byte order mark', () => {
    const file = configFile('bom.json', '\uFEFF' + JSON.stringify({ seed: 7 }));
    expect(configFromFlags({}, file).seed).toBe(7);
  });

  it('refuses --steps 0', () => {
    expect(() => configFromFlags({ steps: '0' })).toThrow(/--steps .*value 0/);
    expect(() => parseRunConfig({ finetune: { steps: 0 } })).toThrow(/finetune\.steps/);
  });

  it('lists the allowed models for --model transformer', () => {
    expect(() => configFromFlags({ model: 'transformer' })).toThrow(/--model .*"transformer".*one of "mlp", "cnn"/);
  });

  it('normalises --strategy none --budget 0.3 to budget 0 and says so', () => {
    const { config, notes } = normaliseRunConfig(configFromFlags({ strategy: 'none', budget: '0.3' }));
    expect(config.rehearsal.budget).toBe(0);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/"none" rehearses nothing: budget r = 0.3 is stored as 0/);
    const random = normaliseRunConfig(configFromFlags({ strategy: 'random', budget: '0.3' }));
    expect(random.config.rehearsal.budget).toBe(0.3);
    expect(random.notes).toEqual([]);
  });
});

describe('--preset paper-plain', () => {
  it('is the plain per-bin ratio: prior strength 0, no decay, no floor; flags still override it', () => {
    const plain = configFromFlags({}, undefined, 'paper-plain').rehearsal.mixCd;
    expect(plain).toEqual({ ...DEFAULT_RUN_CONFIG.rehearsal.mixCd, priorStrength: 0, gamma: 1, epsilon: 0 });
    expect(configFromFlags({ epsilon: '0.1' }, undefined, 'paper-plain').rehearsal.mixCd.epsilon).toBe(0.1);
    expect(() => configFromFlags({}, undefined, 'paper')).toThrow(
      /--preset "paper" is not valid: give one of paper-plain/,
    );
  });
});

describe('deeply nested input (issue 11, broken 11)', () => {
  const deep = (levels: number): unknown => {
    let value: unknown = 1;
    for (let i = 0; i < levels; i++) value = [value];
    return value;
  };

  it('a run config nested 100,000 deep is one ConfigError, not a stack overflow', () => {
    expect(() => parseRunConfig({ rehearsal: deep(100_000) })).toThrow(/nests more than 32 levels deep/);
  });

  it('an API payload nested 100,000 deep is one RequestError naming the params', () => {
    let caught: unknown;
    try {
      parseRequest({ id: 1, method: 'runs.start', params: { config: { rehearsal: deep(100_000) } } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RequestError);
    expect((caught as RequestError).field).toBe('params');
    expect((caught as Error).message).toMatch(/"runs.start" nest more than 32 levels deep/);
  });
});
