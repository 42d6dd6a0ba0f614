// Training curves as a standalone SVG: loss per iteration, train/val accuracy per check.

export interface PlotData {
  lossHistory: number[];
  trainAccHistory: number[];
  valAccHistory: number[];
  title?: string;
}

const W = 480;
const H = 300;
const PAD = { left: 56, right: 16, top: 36, bottom: 40 };

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A polyline of ys over evenly spaced xs inside the plot box; lo/hi give the y range. */
function path(ys: number[], lo: number, hi: number): string {
  const w = W - PAD.left - PAD.right;
  const h = H - PAD.top - PAD.bottom;
  const n = Math.max(ys.length - 1, 1);
  return ys
    .map((y, i) => {
      const px = PAD.left + (i / n) * w;
      const py = PAD.top + h - ((Math.min(Math.max(y, lo), hi) - lo) / (hi - lo || 1)) * h;
      return `${i ? 'L' : 'M'}${px.toFixed(1)},${py.toFixed(1)}`;
    })
    .join('');
}

function panel(x: number, title: string, xLabel: string, lo: number, hi: number, series: Array<{ ys: number[]; color: string; name: string }>): string {
  const h = H - PAD.top - PAD.bottom;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = lo + f * (hi - lo);
    const py = PAD.top + h - f * h;
    return `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${py}" y2="${py}" stroke="#e5e7eb"/><text x="${PAD.left - 6}" y="${py + 4}" text-anchor="end">${v.toPrecision(3)}</text>`;
  });
  const legend = series.map((s, i) => `<text x="${W - PAD.right - 4}" y="${PAD.top + 14 + i * 14}" text-anchor="end" fill="${s.color}">${escape(s.name)}</text>`);
  return `<g transform="translate(${x},0)">
  <text x="${W / 2}" y="20" text-anchor="middle" font-weight="bold">${escape(title)}</text>
  ${ticks.join('\n  ')}
  <rect x="${PAD.left}" y="${PAD.top}" width="${W - PAD.left - PAD.right}" height="${h}" fill="none" stroke="#9ca3af"/>
  ${series.map((s) => `<path d="${path(s.ys, lo, hi)}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`).join('\n  ')}
  ${legend.join('\n  ')}
  <text x="${W / 2}" y="${H - 8}" text-anchor="middle">${escape(xLabel)}</text>
</g>`;
}

/** Two panels side by side: the loss (with a 1%-of-run moving average) and the accuracies. */
export function trainingPlotSvg({ lossHistory, trainAccHistory, valAccHistory, title = 'shadergrad training' }: PlotData): string {
  const finite = lossHistory.filter(Number.isFinite);
  const window = Math.max(1, Math.round(finite.length / 100));
  const smooth = finite.map((_, i) => {
    const from = Math.max(0, i - window + 1);
    let s = 0;
    for (let j = from; j <= i; j++) s += finite[j]!;
    return s / (i - from + 1);
  });
  const lossHi = finite.length ? Math.max(...finite.slice(Math.min(finite.length - 1, window))) : 1;
  const accs = [...trainAccHistory, ...valAccHistory];
  const accLo = accs.length ? Math.max(0, Math.floor(Math.min(...accs) * 10) / 10) : 0;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 24}" font-family="sans-serif" font-size="11">
<title>${escape(title)}</title>
<rect width="100%" height="100%" fill="white"/>
${panel(0, 'Loss', 'iteration', 0, lossHi || 1, [
  { ys: finite, color: '#93c5fd', name: 'loss' },
  { ys: smooth, color: '#1d4ed8', name: `moving average (${window})` },
])}
${panel(W, 'Accuracy', 'check (first iteration, each epoch, last)', accLo, 1, [
  { ys: trainAccHistory, color: '#16a34a', name: 'train' },
  { ys: valAccHistory, color: '#dc2626', name: 'val' },
])}
<text x="8" y="${H + 16}" fill="#6b7280">${escape(title)}</text>
</svg>
`;
}
