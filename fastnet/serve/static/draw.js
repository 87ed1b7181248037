// Shared by both pages: the API, colours, tabs and the error line.
"use strict";

const fastnet = {
  // POST (with a body) or GET a JSON route; rejects with the API's error message.
  async api(path, body) {
    const options = body === undefined ? {} :
      {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
    const response = await fetch(path, options);
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error || response.statusText);
    return answer;
  },

  showError(error) {
    const line = document.getElementById("error");
    line.textContent = error ? String(error.message || error) : "";
  },

  // A token as the GPT page shows it: whitespace made visible.
  visible(token) {
    return token.replace(/\n/g, "⏎").replace(/ /g, "␣").replace(/\t/g, "⇥");
  },

  // A value in [0, 1] as a grey level: 0 black, 1 white.
  grey(value) {
    const level = Math.round(255 * Math.min(1, Math.max(0, value)));
    return `rgb(${level},${level},${level})`;
  },

  // A signed weight as a colour: red positive, blue negative (as fastnet show weights), brighter further from 0
  // (scale: the largest |w|).
  signed(value, scale) {
    const t = Math.min(1, Math.abs(value) / (scale || 1));
    const strong = Math.round(255 * t), weak = Math.round(50 * t);
    return value >= 0 ? `rgb(${strong},${weak},${weak})` : `rgb(${weak},${Math.round(110 * t)},${strong})`;
  },

  // Draw values (row-major side x side) as a size x size picture at (x, y) of a canvas context, coloured by colour(value).
  drawImage(context, values, side, colour, x = 0, y = 0, size = context.canvas.width) {
    const cell = size / side;
    for (let i = 0; i < side; i++) {
      for (let j = 0; j < side; j++) {
        context.fillStyle = colour(values[i * side + j]);
        context.fillRect(x + j * cell, y + i * cell, Math.ceil(cell), Math.ceil(cell));
      }
    }
  },
};

// Tabs: show one page at a time.
document.addEventListener("DOMContentLoaded", () => {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll(".tab")) other.classList.toggle("active", other === tab);
      for (const page of document.querySelectorAll(".page")) page.classList.toggle("active", page.id === tab.dataset.page);
      document.dispatchEvent(new CustomEvent("pageshown", {detail: tab.dataset.page}));
    });
  }
});
