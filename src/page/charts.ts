// Live training charts drawn with uPlot: the loss per iteration, train and validation accuracy per epoch.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const HEIGHT = 220;
const COLORS = { loss: 'rgba(99, 102, 241, 0.35)', smooth: '#4f46e5', train: '#0ea5e9', val: '#f97316', grid: '#eef0f4', axis: '#6b7280' };

/** An exponential moving average: the loss of single minibatches is noisy. */
function smooth(values: readonly number[], weight = 0.9): number[] {
  const out: number[] = [];
  let avg = 0;
  values.forEach((v, i) => {
    avg = weight * avg + (1 - weight) * v;
    out.push(avg / (1 - weight ** (i + 1)));
  });
  return out;
}

/** Whole numbers only on the x axis (iterations, epochs). */
const WHOLE_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

function axes(xLabel: string, yLabel: string, yValues?: (u: uPlot, splits: number[]) => string[]): uPlot.Axis[] {
  const common = { stroke: COLORS.axis, grid: { stroke: COLORS.grid, width: 1 }, ticks: { stroke: COLORS.grid, width: 1 }, font: '11px system-ui, sans-serif', labelFont: '12px system-ui, sans-serif' };
  return [
    { ...common, label: xLabel, labelSize: 18, incrs: WHOLE_STEPS, space: 40 },
    { ...common, label: yLabel, labelSize: 18, size: 48, ...(yValues ? { values: yValues } : {}) },
  ];
}

/** A uPlot that follows its container's width. */
class Chart {
  readonly plot: uPlot;
  private readonly observer: ResizeObserver;

  constructor(container: HTMLElement, options: Omit<uPlot.Options, 'width' | 'height'>, data: uPlot.AlignedData) {
    const width = Math.max(container.clientWidth, 200);
    this.plot = new uPlot({ ...options, width, height: HEIGHT }, data, container);
    this.observer = new ResizeObserver(() => {
      const w = Math.max(container.clientWidth, 200);
      if (w !== this.plot.width) this.plot.setSize({ width: w, height: HEIGHT });
    });
    this.observer.observe(container);
  }

  setData(data: uPlot.AlignedData): void {
    this.plot.setData(data);
  }
}

export class TrainingCharts {
  private readonly loss: Chart;
  private readonly accuracy: Chart;
  private shownLosses = -1;

  constructor(lossContainer: HTMLElement, accuracyContainer: HTMLElement) {
    this.loss = new Chart(
      lossContainer,
      {
        scales: { x: { time: false }, y: { range: (_u, min, max) => [Math.max(0, min), max > min ? max : min + 1] } },
        legend: { show: true, live: false },
        cursor: { drag: { x: false, y: false } },
        axes: axes('iteration', 'loss'),
        series: [
          { label: 'iteration' },
          { label: 'minibatch loss', stroke: COLORS.loss, width: 1, points: { show: false } },
          { label: 'smoothed', stroke: COLORS.smooth, width: 2, points: { show: false } },
        ],
      },
      [[], [], []],
    );
    this.accuracy = new Chart(
      accuracyContainer,
      {
        scales: { x: { time: false }, y: { range: (_u, min) => [Math.max(0, Math.min(min, 0.5) - 0.02), 1] } },
        legend: { show: true, live: false },
        cursor: { drag: { x: false, y: false } },
        axes: axes('epoch', 'accuracy', (_u, splits) => splits.map((v) => `${Math.round(v * 100)}%`)),
        series: [
          { label: 'epoch' },
          { label: 'train', stroke: COLORS.train, width: 2, points: { show: true, size: 6, fill: COLORS.train } },
          { label: 'validation', stroke: COLORS.val, width: 2, points: { show: true, size: 6, fill: COLORS.val } },
        ],
      },
      [[], [], []],
    );
  }

  /** The loss of every iteration so far (redrawn only when it grew). */
  showLoss(history: readonly number[]): void {
    if (history.length === this.shownLosses) return;
    this.shownLosses = history.length;
    const x = history.map((_, i) => i + 1);
    this.loss.setData([x, [...history], smooth(history)]);
  }

  /** Accuracies checked after the first iteration (epoch 0) and at each epoch's end. */
  showAccuracy(train: readonly number[], val: readonly number[]): void {
    const x = train.map((_, i) => i);
    this.accuracy.setData([x, [...train], [...val]]);
  }

  clear(): void {
    this.shownLosses = -1;
    this.showLoss([]);
    this.showAccuracy([], []);
  }
}
