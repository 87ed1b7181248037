// The GPT page: the next-token distribution as the prompt changes, a streamed continuation, attention maps.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const prompt = document.getElementById("prompt");
  const temperature = document.getElementById("temperature");
  const topK = document.getElementById("top-k");
  const layerSelect = document.getElementById("attention-layer");
  const headSelect = document.getElementById("attention-head");
  const generated = document.getElementById("generated");
  let config = null;       // the model's shape, once one answers
  let generation = null;   // the AbortController of the running generation

  const sampling = () => ({temperature: Number(temperature.value), top_k: Number(topK.value)});

  async function showNext() {
    if (!config || !prompt.value) return;
    try {
      const answer = await fastnet.api("/api/gpt/next", {prompt: prompt.value, ...sampling(), count: 20});
      const list = document.getElementById("next-tokens");
      list.replaceChildren(...answer.tokens.map((token, i) => {
        const item = document.createElement("li");
        const p = answer.probabilities[i];
        item.innerHTML = '<span class="token"></span><span class="fill"></span><span class="value"></span>';
        item.querySelector(".token").textContent = fastnet.visible(token);
        item.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
        item.querySelector(".value").textContent = `${(100 * p).toFixed(1)}%`;
        return item;
      }));
      fastnet.showError(null);
    } catch (error) {
      fastnet.showError(error);
    }
  }

  // The attention of one layer and head: row i, column j = how much token i attends to token j (j <= i).
  async function showAttention() {
    if (!config || !prompt.value) return;
    try {
      const answer = await fastnet.api("/api/gpt/attention",
        {prompt: prompt.value, layer: Number(layerSelect.value), head: Number(headSelect.value)});
      const canvas = document.getElementById("attention");
      const context = canvas.getContext("2d");
      const n = answer.tokens.length, margin = 40, cell = (canvas.width - margin) / n;
      context.clearRect(0, 0, canvas.width, canvas.height);
      answer.weights.forEach((row, i) => row.forEach((w, j) => {
        context.fillStyle = `rgba(255, 140, 0, ${Math.sqrt(w)})`;  // square root: small weights stay visible
        context.fillRect(margin + j * cell, margin + i * cell, Math.ceil(cell), Math.ceil(cell));
      }));
      context.fillStyle = "#ddd";
      context.font = `${Math.max(7, Math.min(14, cell - 1))}px monospace`;
      answer.tokens.forEach((token, i) => {
        const label = fastnet.visible(token).slice(0, 4);
        context.fillText(label, 2, margin + (i + 0.8) * cell);
        context.save();
        context.translate(margin + (i + 0.8) * cell, margin - 3);
        context.rotate(-Math.PI / 2);
        context.fillText(label, 0, 0);
        context.restore();
      });
    } catch (error) {
      fastnet.showError(error);
    }
  }

  let timer = null;
  function promptChanged() {
    clearTimeout(timer);
    timer = setTimeout(() => { showNext(); showAttention(); }, 120);
  }

  // Generate: read the stream of JSON lines, appending each piece of text as it comes.
  async function generate() {
    generation = new AbortController();
    document.getElementById("generate").disabled = true;
    document.getElementById("stop").disabled = false;
    generated.textContent = prompt.value;
    try {
      const response = await fetch("/api/gpt/generate", {
        method: "POST", headers: {"Content-Type": "application/json"}, signal: generation.signal,
        body: JSON.stringify({prompt: prompt.value, max_new_tokens: 500, ...sampling()}),
      });
      if (!response.ok) throw new Error((await response.json()).error);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buffer += value;
        const lines = buffer.split("\n");
        buffer = lines.pop();
        for (const line of lines) {
          const message = JSON.parse(line);
          if (message.text !== undefined) generated.textContent += message.text;
          if (message.error !== undefined) throw new Error(message.error);
        }
      }
      fastnet.showError(null);
    } catch (error) {
      if (error.name !== "AbortError") fastnet.showError(error);
    } finally {
      document.getElementById("generate").disabled = false;
      document.getElementById("stop").disabled = true;
    }
  }

  function fillSelect(select, count) {
    if (select.options.length === count) return;
    select.replaceChildren(...Array.from({length: count}, (_, i) => new Option(String(i), String(i))));
  }

  // The model's status: ready or not, where it comes from, the background training's progress.
  let lastIteration = -1;
  async function poll() {
    try {
      const status = await fastnet.api("/api/gpt");
      const training = status.training;
      let line = status.source || "No GPT loaded.";
      const loss = training && training.val_loss !== undefined ? `, validation loss ${training.val_loss.toFixed(3)}` : "";
      if (training && training.state === "done") {
        line = `GPT ${status.source}${loss}.`;
      } else if (training) {
        line = `Training a small GPT here: step ${training.iteration} of ${training.iters}${loss} ` +
          `(${training.state}${training.error ? ": " + training.error : ""}). Answers come from the latest step.`;
      }
      if (!status.ready || training) line += ` To use your own: ${status.how_to}.`;
      document.getElementById("gpt-status").textContent = line;
      if (status.ready) {
        const first = config === null;
        config = status.config;
        fillSelect(layerSelect, config.n_layer);
        fillSelect(headSelect, config.n_head);
        topK.max = String(config.vocab_size);
        if (first || (training && training.iteration !== lastIteration)) promptChanged();
        lastIteration = training ? training.iteration : -1;
      }
      if (training && ["starting", "training"].includes(training.state)) setTimeout(poll, 1000);  // news to come
    } catch (error) {
      fastnet.showError(error);
      setTimeout(poll, 3000);
    }
  }

  prompt.addEventListener("input", promptChanged);
  for (const slider of [temperature, topK]) {
    slider.addEventListener("input", () => {
      document.getElementById(`${slider.id}-value`).textContent = slider.value;
      promptChanged();
    });
  }
  layerSelect.addEventListener("change", showAttention);
  headSelect.addEventListener("change", showAttention);
  document.getElementById("generate").addEventListener("click", generate);
  document.getElementById("stop").addEventListener("click", () => generation && generation.abort());
  poll();
});
