// The digit page: a drawing pad, the image the network sees, every layer lit, the answer.
"use strict";

document.addEventListener("DOMContentLoaded", async () => {
  const pad = document.getElementById("pad");
  const padContext = pad.getContext("2d", {willReadFrequently: true});
  const inputCanvas = document.getElementById("input-image");
  const networkCanvas = document.getElementById("network");
  const BOX = 20;  // MNIST: the digit's bounding box scaled to fit 20x20 ...
  let network = null;  // /api/network: sizes, image side, ...
  let side = 28;       // ... inside the side x side image
  let positions = [];  // the neurons drawn on networkCanvas: {layer, index, x, y, r}
  const layers = {};   // /api/network/layers/{l}, fetched when needed
  let last = null;     // the last /api/predict answer
  let archetypes = 0;  // archetypes drawn so far: the next one's seed

  // -- the pad ---------------------------------------------------------------

  function clearPad() {
    padContext.fillStyle = "black";
    padContext.fillRect(0, 0, pad.width, pad.height);
  }
  clearPad();
  padContext.strokeStyle = "white";
  padContext.lineCap = padContext.lineJoin = "round";
  padContext.lineWidth = pad.width / 12;

  let drawing = false;
  function point(event) {
    const box = pad.getBoundingClientRect();
    return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
  }
  pad.addEventListener("pointerdown", (event) => {
    drawing = true;
    pad.setPointerCapture(event.pointerId);
    const [x, y] = point(event);
    padContext.beginPath();
    padContext.moveTo(x, y);
    padContext.lineTo(x + 0.01, y);  // a dot where the pointer only touches
    padContext.stroke();
    changed();
  });
  pad.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const [x, y] = point(event);
    padContext.lineTo(x, y);
    padContext.stroke();
    changed();
  });
  for (const kind of ["pointerup", "pointercancel"]) {
    pad.addEventListener(kind, () => { drawing = false; changed(); });
  }

  // The pad's ink as an MNIST image: the bounding box of the strokes scaled (aspect kept) to fit BOX x BOX,
  // each pixel the mean ink over its area (anti-aliasing), then placed in side x side so that the centre of mass
  // falls on the centre. Returns side*side values in [0, 1], row-major.
  function mnistPixels() {
    const {width, height} = pad;
    const rgba = padContext.getImageData(0, 0, width, height).data;
    const ink = new Float32Array(width * height);
    let left = width, right = -1, top = height, bottom = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const value = rgba[4 * (y * width + x)] / 255;
        ink[y * width + x] = value;
        if (value > 0) {
          left = Math.min(left, x); right = Math.max(right, x);
          top = Math.min(top, y); bottom = Math.max(bottom, y);
        }
      }
    }
    const image = new Float64Array(side * side);
    if (right < 0) return image;
    const boxWidth = right - left + 1, boxHeight = bottom - top + 1;
    const scale = BOX / Math.max(boxWidth, boxHeight);
    const w = Math.max(1, Math.round(boxWidth * scale)), h = Math.max(1, Math.round(boxHeight * scale));
    const samples = Math.max(2, Math.ceil(2 / scale));  // samples per output pixel and axis: every input pixel seen
    const small = new Float64Array(w * h);
    let mass = 0, massX = 0, massY = 0;
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        let sum = 0;
        for (let a = 0; a < samples; a++) {
          const y = Math.min(bottom, top + Math.floor((i + (a + 0.5) / samples) / scale));
          for (let b = 0; b < samples; b++) {
            sum += ink[y * width + Math.min(right, left + Math.floor((j + (b + 0.5) / samples) / scale))];
          }
        }
        const value = sum / (samples * samples);
        small[i * w + j] = value;
        mass += value; massX += value * (j + 0.5); massY += value * (i + 0.5);
      }
    }
    const dx = Math.round(side / 2 - massX / mass), dy = Math.round(side / 2 - massY / mass);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const y = i + dy, x = j + dx;
        if (y >= 0 && y < side && x >= 0 && x < side) image[y * side + x] = small[i * w + j];
      }
    }
    return image;
  }

  // -- asking the network: one request at a time, the newest drawing next --------------------------

  let inFlight = false, pending = null;
  function changed() { ask(mnistPixels()); }
  async function ask(pixels) {
    pending = pixels;
    if (inFlight) return;
    while (pending) {
      const sent = pending;
      pending = null;
      inFlight = true;
      try {
        show(await fastnet.api("/api/predict", {pixels: Array.from(sent)}));
        fastnet.showError(null);
      } catch (error) {
        fastnet.showError(error);
      } finally {
        inFlight = false;
      }
    }
  }

  // -- showing the answer ----------------------------------------------------

  function show(answer) {
    last = answer;
    const input = answer.activations[0];
    fastnet.drawImage(inputCanvas.getContext("2d"), input, side, fastnet.grey);
    const blank = input.every((v) => v === 0);
    document.getElementById("prediction").textContent = blank ? "?" : String(answer.prediction);
    const best = answer.probabilities[answer.prediction];
    document.getElementById("confidence").textContent = blank ? "draw a digit" :
      `${(100 * best).toFixed(1)}% sure`;
    const bars = document.getElementById("probabilities");
    bars.replaceChildren(...answer.probabilities.map((p, digit) => {
      const row = document.createElement("div");
      row.className = "bar" + (digit === answer.prediction ? " best" : "");
      row.innerHTML = `<span class="label">${digit}</span><span class="fill" style="width:${(100 * p).toFixed(1)}%"></span><span class="value">${(100 * p).toFixed(1)}%</span>`;
      return row;
    }));
    document.getElementById("probabilities-are").textContent = `probabilities: ${answer.probabilities_are}`;
    drawNetwork();
    document.dispatchEvent(new CustomEvent("predicted", {detail: answer}));
  }

  // For the learning views (learn.js): the input shown now, and a redraw after the network changed.
  fastnet.digits = {
    input: () => (last ? last.activations[0] : null),
    async refresh() {
      for (const l of Object.keys(layers)) delete layers[l];
      for (let l = 2; l < network.sizes.length; l++) {
        if (network.sizes[l] * network.sizes[l - 1] <= 4096) await layer(l);
      }
      if (last) await ask(Float64Array.from(last.activations[0]));
    },
  };

  // The network drawn as 3Blue1Brown draws it: the input as its image, each further layer a column of neurons
  // (a grid when wide), lit by its activation; lines between small layers coloured by weight x activation.
  function drawNetwork() {
    const context = networkCanvas.getContext("2d");
    const {width, height} = networkCanvas;
    context.fillStyle = "#111";
    context.fillRect(0, 0, width, height);
    const sizes = network.sizes, count = sizes.length;
    const imageSize = 112, gap = (width - imageSize - 40) / (count - 1);
    positions = [];
    const acts = last ? last.activations : sizes.map((n) => new Array(n).fill(0));
    fastnet.drawImage(context, acts[0], side, fastnet.grey, 10, (height - imageSize) / 2, imageSize);
    for (let l = 1; l < count; l++) {
      const n = sizes[l], columns = Math.ceil(n / 24), rows = Math.ceil(n / columns);
      const r = Math.min(10, (height - 20) / rows / 2 - 1);
      for (let k = 0; k < n; k++) {
        const c = Math.floor(k / rows), i = k % rows;
        positions.push({layer: l, index: k, r,
          x: 10 + imageSize + (l - 0.5) * gap + (c - (columns - 1) / 2) * (2 * r + 2),
          y: height / 2 + (i - (rows - 1) / 2) * (2 * r + 3)});
      }
    }
    for (let l = 2; l < count; l++) {  // lines into layer l, when its weights are here and few
      const W = layers[l] && layers[l].weights;
      if (!W || sizes[l] * sizes[l - 1] > 4096) continue;
      const into = positions.filter((p) => p.layer === l), from = positions.filter((p) => p.layer === l - 1);
      const scale = Math.max(...W.flat().map(Math.abs));
      for (const p of into) {
        for (const q of from) {
          const w = W[p.index][q.index] * acts[l - 1][q.index];
          if (Math.abs(w) < 0.05 * scale) continue;
          context.strokeStyle = fastnet.signed(w, scale);
          context.globalAlpha = Math.min(1, Math.abs(w) / scale);
          context.beginPath(); context.moveTo(q.x + q.r, q.y); context.lineTo(p.x - p.r, p.y); context.stroke();
        }
      }
    }
    context.globalAlpha = 1;
    for (const p of positions) {
      context.fillStyle = fastnet.grey(acts[p.layer][p.index]);
      context.strokeStyle = "#888";
      context.beginPath(); context.arc(p.x, p.y, p.r, 0, 2 * Math.PI); context.fill(); context.stroke();
      if (p.layer === count - 1 && p.r >= 6) {
        context.fillStyle = last && last.prediction === p.index ? "#ffd84a" : "#ccc";
        context.font = "14px sans-serif";
        context.fillText(String(p.index), p.x + p.r + 5, p.y + 5);
      }
    }
  }

  async function layer(l) {
    if (!layers[l]) layers[l] = await fastnet.api(`/api/network/layers/${l}`);
    return layers[l];
  }

  // A neuron's incoming weights: an image for the first hidden layer, bars for the others.
  networkCanvas.addEventListener("click", async (event) => {
    const box = networkCanvas.getBoundingClientRect();
    const x = (event.clientX - box.left) * networkCanvas.width / box.width;
    const y = (event.clientY - box.top) * networkCanvas.height / box.height;
    const hit = positions.find((p) => (p.x - x) ** 2 + (p.y - y) ** 2 <= (p.r + 2) ** 2);
    if (!hit) return;
    try {
      const {weights, biases} = await layer(hit.layer);
      const row = weights[hit.index], scale = Math.max(...row.map(Math.abs));
      document.getElementById("neuron-title").textContent =
        `layer ${hit.layer}, neuron ${hit.index}: incoming weights (red +, blue −), bias ${biases[hit.index].toFixed(3)}`;
      document.getElementById("neuron").classList.add("shown");
      const canvas = document.getElementById("neuron-weights");
      const context = canvas.getContext("2d");
      context.clearRect(0, 0, canvas.width, canvas.height);
      if (hit.layer === 1) {
        fastnet.drawImage(context, row, side, (w) => fastnet.signed(w, scale), 0, 0, canvas.height);
      } else {
        const barWidth = canvas.width / row.length, middle = canvas.height / 2;
        row.forEach((w, i) => {
          context.fillStyle = fastnet.signed(w, scale);
          const h = (middle - 2) * Math.abs(w) / scale;
          context.fillRect(i * barWidth + 1, w >= 0 ? middle - h : middle, Math.max(1, barWidth - 2), h);
        });
      }
      fastnet.showError(null);
    } catch (error) {
      fastnet.showError(error);
    }
  });

  // -- buttons ---------------------------------------------------------------

  document.getElementById("clear").addEventListener("click", () => { clearPad(); changed(); });
  document.getElementById("junk").addEventListener("click", () => {
    clearPad();
    ask(Float64Array.from({length: side * side}, Math.random));
  });
  document.getElementById("archetype").addEventListener("click", async () => {
    const digit = Number(document.getElementById("archetype-digit").value);
    try {
      clearPad();
      show(await fastnet.api("/api/archetype", {digit, seed: archetypes++}));  // each click starts from new noise
      fastnet.showError(null);
    } catch (error) {
      fastnet.showError(error);
    }
  });

  try {
    network = await fastnet.api("/api/network");
    side = network.image_side;
    document.getElementById("network-source").textContent =
      `Network ${network.sizes.join("-")}, ${network.activation} hidden, ${network.output} output: ${network.source}`;
    const select = document.getElementById("archetype-digit");
    for (let d = 0; d < network.sizes[network.sizes.length - 1]; d++) select.add(new Option(String(d), String(d)));
    for (let l = 2; l < network.sizes.length; l++) {
      if (network.sizes[l] * network.sizes[l - 1] <= 4096) await layer(l);
    }
    changed();
  } catch (error) {
    fastnet.showError(error);
  }
});
