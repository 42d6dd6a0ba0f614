// The confusion matrix of the validation set (rows: true class, columns: predicted), shaded by each row's share.

export class ConfusionMatrix {
  private readonly cells: HTMLTableCellElement[][] = [];
  private readonly accuracies: HTMLTableCellElement[] = [];

  constructor(
    container: HTMLElement,
    private readonly classNames: readonly string[],
  ) {
    const C = classNames.length;
    const table = document.createElement('table');
    table.className = 'confusion';
    const head = table.createTHead().insertRow();
    const corner = document.createElement('th');
    corner.className = 'corner';
    corner.innerHTML = '<span>true ↓</span><span>predicted →</span>';
    head.append(corner);
    for (const name of classNames) {
      const th = document.createElement('th');
      th.className = 'col';
      th.scope = 'col';
      th.innerHTML = `<span>${escape(name)}</span>`;
      head.append(th);
    }
    const recall = document.createElement('th');
    recall.className = 'col recall';
    recall.innerHTML = '<span>recall</span>';
    head.append(recall);
    const body = table.createTBody();
    for (let r = 0; r < C; r++) {
      const row = body.insertRow();
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = classNames[r]!;
      row.append(th);
      const cells: HTMLTableCellElement[] = [];
      for (let c = 0; c < C; c++) {
        const td = row.insertCell();
        td.className = r === c ? 'diag' : 'off';
        cells.push(td);
      }
      this.cells.push(cells);
      const acc = row.insertCell();
      acc.className = 'recall';
      this.accuracies.push(acc);
    }
    container.replaceChildren(table);
  }

  update(predictions: Int32Array, labels: Int32Array): void {
    const C = this.classNames.length;
    const counts = Array.from({ length: C }, () => new Array<number>(C).fill(0));
    labels.forEach((truth, i) => {
      const p = predictions[i]!;
      if (truth >= 0 && truth < C && p >= 0 && p < C) counts[truth]![p]!++;
    });
    counts.forEach((row, r) => {
      const total = row.reduce((a, b) => a + b, 0) || 1;
      row.forEach((n, c) => {
        const td = this.cells[r]![c]!;
        const share = n / total;
        td.textContent = n ? String(n) : '';
        td.title = `${this.classNames[r]} predicted as ${this.classNames[c]}: ${n} (${(share * 100).toFixed(1)}%)`;
        // Right answers in indigo, mistakes in red, more opaque the larger their share of the row.
        const alpha = r === c ? 0.08 + 0.8 * share : Math.min(0.85, 0.1 + 2.5 * share);
        td.style.background = n ? (r === c ? `rgba(79, 70, 229, ${alpha})` : `rgba(220, 38, 38, ${alpha})`) : '';
        td.style.color = alpha > 0.5 ? '#fff' : '';
      });
      this.accuracies[r]!.textContent = `${Math.round((row[r]! / total) * 100)}%`;
    });
  }
}

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
