// What a GPT's embeddings hold (the seed's video 5): every token's vector projected to 2-D, its nearest tokens,
// and the last vector's dot products with every embedding becoming the next-token distribution.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const svg = document.getElementById("embeddings");
  const SVG = "http://www.w3.org/2000/svg";  // the SVG namespace name, not a fetch
  let drawnFor = null;  // the model status the plot was drawn for
  let circles = [];
  let tokens = [];      // the text of every token, as /api/gpt/embeddings gives it

  async function drawEmbeddings() {
    try {
      const answer = await fastnet.api("/api/gpt/embeddings");
      const points = answer.points;
      tokens = answer.tokens;
      const width = 560, height = 460, margin = 16;
      const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
      const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
      const sx = (x) => margin + (width - 2 * margin) * (x - x0) / ((x1 - x0) || 1);
      const sy = (y) => height - margin - (height - 2 * margin) * (y - y0) / ((y1 - y0) || 1);
      circles = [];
      const items = [];
      tokens.forEach((token, t) => {
        const circle = document.createElementNS(SVG, "circle");
        circle.setAttribute("cx", sx(points[t][0])); circle.setAttribute("cy", sy(points[t][1]));
        circle.setAttribute("r", 3);
        circle.dataset.token = String(t);
        const label = document.createElementNS(SVG, "text");
        label.setAttribute("x", sx(points[t][0]) + 4); label.setAttribute("y", sy(points[t][1]) + 4);
        label.textContent = fastnet.visible(token).slice(0, 8);
        label.dataset.token = String(t);
        const title = document.createElementNS(SVG, "title");
        title.textContent = `token ${t}: ${JSON.stringify(token)}`;
        circle.append(title);
        circles.push(circle);
        items.push(circle, label);
      });
      svg.replaceChildren(...items);
      fastnet.showError(null);
    } catch (error) {
      fastnet.showError(error);
    }
  }

  svg.addEventListener("click", async (event) => {
    const token = event.target.dataset && event.target.dataset.token;
    if (token === undefined) return;
    try {
      const neighbours = await fastnet.api("/api/gpt/neighbours", {token: Number(token), k: 10});
      for (const circle of circles) circle.setAttribute("class", "");
      circles[Number(token)].setAttribute("class", "chosen");
      for (const near of neighbours) circles[near.token].setAttribute("class", "near");
      document.getElementById("neighbours-title").textContent = `Nearest to ${JSON.stringify(tokens[Number(token)])}`;
      document.getElementById("neighbours").replaceChildren(...neighbours.map((near) => {
        const item = document.createElement("li");
        item.textContent = `${fastnet.visible(near.text)}   cosine ${near.cosine.toFixed(3)}`;
        return item;
      }));
      fastnet.showError(null);
    } catch (error) {
      fastnet.showError(error);
    }
  });

  // The last vector's dot products with the embeddings: the ten likeliest tokens, logit, logit / T, probability.
  async function showDots() {
    const prompt = document.getElementById("prompt").value;
    if (!prompt) return;
    const temperature = Number(document.getElementById("temperature").value);
    try {
      const answer = await fastnet.api("/api/gpt/dots", {prompt, temperature});
      const order = answer.probabilities.map((p, t) => t).sort((a, b) => answer.probabilities[b] - answer.probabilities[a]);
      const header = document.createElement("tr");
      header.innerHTML = "<th>token</th><th>h·wte[t]</th><th>÷ T</th><th>softmax</th>";
      const rows = order.slice(0, 10).map((t) => {
        const row = document.createElement("tr");
        row.innerHTML = '<td class="token"></td><td></td><td></td><td></td>';
        const cells = row.children;
        cells[0].textContent = fastnet.visible(answer.tokens[t]);
        cells[1].textContent = answer.dots[t].toFixed(2);
        cells[2].textContent = (answer.dots[t] / temperature).toFixed(2);
        cells[3].textContent = `${(100 * answer.probabilities[t]).toFixed(1)}%`;
        return row;
      });
      const note = document.createElement("tr");
      note.innerHTML = `<td colspan="4" class="hint">h has ${answer.vector.length} numbers; ${answer.tokens.length} tokens</td>`;
      document.getElementById("dots").replaceChildren(header, ...rows, note);
    } catch (error) {
      fastnet.showError(error);
    }
  }

  let timer = null;
  const later = () => { clearTimeout(timer); timer = setTimeout(showDots, 150); };
  document.getElementById("prompt").addEventListener("input", later);
  document.getElementById("temperature").addEventListener("input", later);

  // Drawn when the GPT page is shown, and again while a background GPT trains (its embeddings move).
  async function refresh() {
    try {
      const status = await fastnet.api("/api/gpt");
      if (!status.ready) return;
      const version = status.training ? status.training.iteration : "loaded";
      if (version !== drawnFor) {
        drawnFor = version;
        await drawEmbeddings();
        await showDots();
      }
    } catch (error) {
      fastnet.showError(error);
    }
  }
  document.addEventListener("pageshown", (event) => { if (event.detail === "gpt-page") refresh(); });
  setInterval(() => { if (document.getElementById("gpt-page").classList.contains("active")) refresh(); }, 5000);
});
