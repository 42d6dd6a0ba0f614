// Every shared case, by family (engine, layers, data, optim, models, solver): the Node and the Chromium runners both import this list.

import type { TestCase } from '../harness/check';
import { cases as engine } from './engine.cases';
import { cases as affine } from './affine.cases';
import { cases as dropout } from './dropout.cases';
import { cases as loss } from './loss.cases';
import { cases as data } from './data.cases';
import { cases as batchnorm } from './batchnorm.cases';
import { cases as optim } from './optim.cases';
import { cases as models } from './models.cases';
import { cases as solver } from './solver.cases';

export const suites: Record<string, TestCase[]> = { engine, affine, batchnorm, dropout, loss, optim, data, models, solver };
