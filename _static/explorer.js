/*
 * The schedule explorer: pick a schedule family, move its parameters, see the rate
 * (and momentum) curve. Runs in the static HTML page, no kernel and no server.
 *
 * The formulas mirror lrlib.schedules (same argument names, same step convention:
 * the value at step t is the rate of update t, counted from 0). The browser test
 * (tests/browser) evaluates every family here at many points and asserts agreement
 * with lrlib itself, so this file cannot drift from the library unnoticed.
 */
(function () {
  "use strict";

  const floor = Math.floor;

  // ---- the schedules: f(params, t) for an integer step t >= 0 ----------------------

  function cyclicShape(p, t) {
    const up = p.step_size_up;
    const down = p.step_size_down;
    const total = up + down;
    const ratio = up / total;
    const cycle = floor(1 + t / total);
    const x = 1.0 + t / total - cycle;
    const h = x <= ratio ? x / ratio : (x - 1) / (ratio - 1);
    let scale = 1.0;
    if (p.mode === "triangular2") scale = Math.pow(0.5, cycle - 1);
    if (p.mode === "exp_range") scale = Math.pow(p.gamma, t);
    return [h, scale];
  }

  function oneCyclePhases(p) {
    const n = p.total_steps;
    const pct = p.pct_start;
    const init = p.max_lr / p.div_factor;
    const fin = init / p.final_div_factor;
    const lo = p.base_momentum;
    const hi = p.max_momentum;
    if (p.three_phase) {
      return [
        [pct * n - 1, init, p.max_lr, hi, lo],
        [2 * pct * n - 2, p.max_lr, init, lo, hi],
        [n - 1, init, fin, hi, hi],
      ];
    }
    return [[pct * n - 1, init, p.max_lr, hi, lo], [n - 1, p.max_lr, fin, lo, hi]];
  }

  function oneCycle(p, t, momentum) {
    t = Math.min(t, p.total_steps - 1);
    const phases = oneCyclePhases(p);
    let begin = 0.0;
    for (let i = 0; i < phases.length; i++) {
      const [end, lrA, lrB, mA, mB] = phases[i];
      if (t <= end || i === phases.length - 1) {
        const u = (t - begin) / (end - begin);
        const a = momentum ? mA : lrA;
        const b = momentum ? mB : lrB;
        if (p.anneal_strategy === "cos") return b + ((a - b) / 2.0) * (Math.cos(Math.PI * u) + 1);
        return (b - a) * u + a;
      }
      begin = end;
    }
    return NaN;
  }

  function cosineAt(lr, T, etaMin, t) {
    return etaMin + ((lr - etaMin) * (1 + Math.cos((Math.PI * t) / T))) / 2;
  }

  const schedules = {
    constant: (p, t) => (t < p.total_iters ? p.lr * p.factor : p.lr),
    step: (p, t) => p.lr * Math.pow(p.gamma, floor(t / p.step_size)),
    multistep: (p, t) => {
      const drops = [p.milestone_1, p.milestone_2].filter((m) => m <= t).length;
      return p.lr * Math.pow(p.gamma, drops);
    },
    exponential: (p, t) =>
      p.lr * Math.pow(p.gamma, p.staircase ? floor(t / p.decay_steps) : t / p.decay_steps),
    inverse_time: (p, t) =>
      p.lr / (1.0 + p.decay * (p.staircase ? floor(t / p.decay_steps) : t / p.decay_steps)),
    polynomial: (p, t) =>
      p.lr * Math.pow(1.0 - Math.min(t, p.total_iters) / p.total_iters, p.power),
    linear: (p, t) =>
      p.lr *
      (p.start_factor + ((p.end_factor - p.start_factor) * Math.min(t, p.total_iters)) / p.total_iters),
    cosine: (p, t) => cosineAt(p.lr, p.T_max, p.eta_min, p.clamp ? Math.min(t, p.T_max) : t),
    cosine_restarts: (p, t) => {
      let period = p.T_0;
      let cur = t;
      while (cur >= period) {
        cur -= period;
        period *= p.T_mult;
      }
      return cosineAt(p.lr, period, p.eta_min, cur);
    },
    cyclic: (p, t) => {
      const [h, scale] = cyclicShape(p, t);
      return p.base_lr + (p.max_lr - p.base_lr) * h * scale;
    },
    one_cycle: (p, t) => oneCycle(p, t, false),
    warmup_cosine: (p, t) => {
      const W = p.warmup_steps;
      if (t < W) return p.lr * (p.start_factor + ((1.0 - p.start_factor) * Math.min(t, W)) / W);
      return cosineAt(p.lr, p.T_max, p.eta_min, t - W);
    },
  };

  const momenta = {
    cyclic: (p, t) => {
      const [h, scale] = cyclicShape(p, t);
      return p.max_momentum - (p.max_momentum - p.base_momentum) * h * scale;
    },
    one_cycle: (p, t) => oneCycle(p, t, true),
  };

  // ---- the controls of each family -----------------------------------------------------
  // [name, kind, default, min, max, step]; kind: "int", "float", "log" (slider in log10),
  // "choice" (options in place of min), "bool".

  const families = {
    step: {label: "Step decay (StepLR)", params: [
      ["lr", "log", 0.1, -4, 0], ["step_size", "int", 30, 1, 200, 1],
      ["gamma", "float", 0.5, 0.05, 1, 0.05]]},
    multistep: {label: "Multi-step decay (MultiStepLR)", params: [
      ["lr", "log", 0.1, -4, 0], ["milestone_1", "int", 100, 0, 500, 1],
      ["milestone_2", "int", 200, 0, 500, 1], ["gamma", "float", 0.1, 0.05, 1, 0.05]]},
    exponential: {label: "Exponential decay (ExponentialLR / Keras ExponentialDecay)", params: [
      ["lr", "log", 0.1, -4, 0], ["gamma", "float", 0.99, 0.8, 1, 0.001],
      ["decay_steps", "int", 1, 1, 100, 1], ["staircase", "bool", false]]},
    inverse_time: {label: "1/t decay (Keras InverseTimeDecay, old decay=)", params: [
      ["lr", "log", 0.1, -4, 0], ["decay", "log", 0.01, -4, 1],
      ["decay_steps", "int", 1, 1, 100, 1], ["staircase", "bool", false]]},
    polynomial: {label: "Polynomial decay (PolynomialLR)", params: [
      ["lr", "log", 0.1, -4, 0], ["total_iters", "int", 300, 1, 500, 1],
      ["power", "float", 1.0, 0.1, 5, 0.1]]},
    linear: {label: "Linear (LinearLR)", params: [
      ["lr", "log", 0.1, -4, 0], ["start_factor", "float", 0.1, 0, 1, 0.01],
      ["end_factor", "float", 1.0, 0, 1, 0.01], ["total_iters", "int", 100, 1, 500, 1]]},
    cosine: {label: "Cosine annealing (CosineAnnealingLR)", params: [
      ["lr", "log", 0.1, -4, 0], ["T_max", "int", 200, 1, 500, 1],
      ["eta_min", "float", 0.0, 0, 0.1, 0.001], ["clamp", "bool", false]]},
    cosine_restarts: {label: "Cosine with warm restarts (SGDR)", params: [
      ["lr", "log", 0.1, -4, 0], ["T_0", "int", 50, 1, 300, 1], ["T_mult", "int", 2, 1, 4, 1],
      ["eta_min", "float", 0.0, 0, 0.1, 0.001]]},
    cyclic: {label: "Cyclical (CyclicLR)", momentum: true, params: [
      ["base_lr", "log", 0.001, -5, -1], ["max_lr", "log", 0.1, -3, 0],
      ["step_size_up", "int", 50, 1, 300, 1], ["step_size_down", "int", 50, 0, 300, 1],
      ["mode", "choice", "triangular", ["triangular", "triangular2", "exp_range"]],
      ["gamma", "float", 0.995, 0.9, 1, 0.001],
      ["base_momentum", "float", 0.8, 0, 0.99, 0.01],
      ["max_momentum", "float", 0.9, 0, 0.99, 0.01]]},
    one_cycle: {label: "One-cycle (OneCycleLR)", momentum: true, params: [
      ["max_lr", "log", 0.1, -4, 0], ["total_steps", "int", 400, 10, 1000, 1],
      ["pct_start", "float", 0.3, 0.05, 0.45, 0.01],
      ["anneal_strategy", "choice", "cos", ["cos", "linear"]],
      ["div_factor", "float", 25, 1, 100, 1], ["final_div_factor", "log", 1e4, 0, 5],
      ["three_phase", "bool", false], ["base_momentum", "float", 0.85, 0, 0.99, 0.01],
      ["max_momentum", "float", 0.95, 0, 0.99, 0.01]]},
    warmup_cosine: {label: "Linear warm-up, then cosine", params: [
      ["lr", "log", 0.1, -4, 0], ["warmup_steps", "int", 50, 1, 200, 1],
      ["start_factor", "float", 0.0, 0, 1, 0.01], ["T_max", "int", 300, 1, 500, 1],
      ["eta_min", "float", 0.0, 0, 0.1, 0.001]]},
  };

  // The same rules as lrlib's argument checks, for the combinations a slider can reach.
  function problem(family, p) {
    if (family === "multistep" && !(p.milestone_2 > p.milestone_1)) {
      return "milestones must be strictly increasing (milestone_2 > milestone_1)";
    }
    if (family === "cyclic" && !(p.max_lr >= p.base_lr)) return "max_lr must be >= base_lr";
    if ((family === "cyclic" || family === "one_cycle") && !(p.max_momentum >= p.base_momentum)) {
      return "max_momentum must be >= base_momentum";
    }
    if (family === "one_cycle") {
      if (!(p.pct_start * p.total_steps > 1)) return "pct_start * total_steps must be > 1";
      if (p.three_phase && !(p.pct_start < (p.total_steps + 1) / (2 * p.total_steps))) {
        return "with three_phase, pct_start must be < (total_steps + 1) / (2 total_steps)";
      }
    }
    return null;
  }

  // ---- drawing -----------------------------------------------------------------------------

  function niceTicks(lo, hi, count) {
    const span = hi - lo || Math.abs(hi) || 1;
    const raw = span / count;
    const mag = Math.pow(10, floor(Math.log10(raw)));
    const unit = [1, 2, 5, 10].map((k) => k * mag).find((u) => span / u <= count) || 10 * mag;
    const ticks = [];
    for (let v = Math.ceil(lo / unit) * unit; v <= hi + 1e-12 * span; v += unit) ticks.push(v);
    return ticks;
  }

  function label(v) {
    if (v === 0) return "0";
    const a = Math.abs(v);
    return a >= 1e-3 && a < 1e4 ? String(Number(v.toPrecision(4))) : v.toExponential(1);
  }

  function draw(canvas, steps, lr, mom, title) {
    const ctx = canvas.getContext("2d");
    const W = canvas.width;
    const H = canvas.height;
    const m = {left: 70, right: mom ? 70 : 20, top: 34, bottom: 48};
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, W, H);
    const n = steps.length;
    const x = (t) => m.left + ((W - m.left - m.right) * t) / Math.max(n - 1, 1);
    const finite = lr.filter(Number.isFinite);
    let lo = Math.min(0, ...finite);
    let hi = Math.max(...finite);
    if (!(hi > lo)) hi = lo + 1;
    const y = (v) => H - m.bottom - ((H - m.top - m.bottom) * (v - lo)) / (hi - lo);
    ctx.strokeStyle = "#444";
    ctx.fillStyle = "#222";
    ctx.font = "12px sans-serif";
    ctx.lineWidth = 1;
    ctx.strokeRect(m.left, m.top, W - m.left - m.right, H - m.top - m.bottom);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const v of niceTicks(lo, hi, 6)) {
      ctx.fillText(label(v), m.left - 6, y(v));
      ctx.beginPath(); ctx.moveTo(m.left - 3, y(v)); ctx.lineTo(m.left, y(v)); ctx.stroke();
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const v of niceTicks(0, n - 1, 8)) {
      ctx.fillText(label(v), x(v), H - m.bottom + 6);
    }
    ctx.fillText("step", (m.left + W - m.right) / 2, H - 20);
    ctx.font = "bold 14px sans-serif";
    ctx.fillText(title, W / 2, 8);
    ctx.save();
    ctx.font = "12px sans-serif";
    ctx.translate(16, (m.top + H - m.bottom) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText("learning rate", 0, 0);
    ctx.restore();
    ctx.strokeStyle = "#1f77b4";
    ctx.lineWidth = 2;
    ctx.beginPath();
    lr.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
    ctx.stroke();
    const legend = [["learning rate", "#1f77b4", []]];
    if (mom) {
      const mlo = Math.min(...mom) - 0.01;
      const mhi = Math.max(...mom) + 0.01;
      const ym = (v) => H - m.bottom - ((H - m.top - m.bottom) * (v - mlo)) / (mhi - mlo);
      ctx.strokeStyle = "#d62728";
      ctx.setLineDash([6, 4]);
      ctx.beginPath();
      mom.forEach((v, i) => (i ? ctx.lineTo(x(i), ym(v)) : ctx.moveTo(x(i), ym(v))));
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = "#222";
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      for (const v of niceTicks(mlo, mhi, 5)) ctx.fillText(label(v), W - m.right + 6, ym(v));
      ctx.save();
      ctx.translate(W - 14, (m.top + H - m.bottom) / 2);
      ctx.rotate(Math.PI / 2);
      ctx.textAlign = "center";
      ctx.fillText("momentum", 0, 0);
      ctx.restore();
      legend.push(["momentum", "#d62728", [6, 4]]);
    }
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    legend.forEach(([name, color, dash], k) => {
      const ly = m.top + 14 + 18 * k;
      ctx.strokeStyle = color;
      ctx.setLineDash(dash);
      ctx.beginPath(); ctx.moveTo(W - m.right - 150, ly); ctx.lineTo(W - m.right - 120, ly);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = "#222";
      ctx.fillText(name, W - m.right - 114, ly);
    });
  }

  // ---- the page --------------------------------------------------------------------------

  function evaluate(family, params, numSteps) {
    const steps = Array.from({length: numSteps}, (_, t) => t);
    const lr = steps.map((t) => schedules[family](params, t));
    const mom = momenta[family] ? steps.map((t) => momenta[family](params, t)) : null;
    return {steps, lr, mom};
  }

  function sliderValue(spec, input) {
    const [, kind] = spec;
    if (kind === "bool") return input.checked;
    if (kind === "choice") return input.value;
    const v = Number(input.value);
    if (kind === "log") return Math.pow(10, v);
    if (kind === "int") return Math.round(v);
    return v;
  }

  function init(root) {
    const select = root.querySelector("select.lr-family");
    const controls = root.querySelector(".lr-controls");
    const canvas = root.querySelector("canvas");
    const readout = root.querySelector(".lr-readout");
    const lengthInput = root.querySelector("input.lr-length");
    let current = null;

    for (const [key, fam] of Object.entries(families)) {
      const opt = document.createElement("option");
      opt.value = key;
      opt.textContent = fam.label;
      select.appendChild(opt);
    }

    function params() {
      const out = {};
      for (const input of controls.querySelectorAll("[data-param]")) {
        out[input.dataset.param] = sliderValue(JSON.parse(input.dataset.spec), input);
      }
      return out;
    }

    function update() {
      const family = select.value;
      const p = params();
      for (const input of controls.querySelectorAll("[data-param]")) {
        const out = input.parentElement.querySelector("output");
        if (out) out.textContent = typeof p[input.dataset.param] === "number"
          ? label(p[input.dataset.param]) : String(p[input.dataset.param]);
      }
      const n = Math.round(Number(lengthInput.value));
      root.querySelector(".lr-length-out").textContent = String(n);
      const wrong = problem(family, p);
      if (wrong) {
        const ctx = canvas.getContext("2d");
        ctx.fillStyle = "#fff";
        ctx.fillRect(0, 0, canvas.width, canvas.height);
        readout.textContent = `lrlib would refuse these arguments: ${wrong}.`;
        current = {family, params: p, steps: [], lr: [], mom: null, problem: wrong};
        return;
      }
      const curve = evaluate(family, p, n);
      draw(canvas, curve.steps, curve.lr, curve.mom, families[family].label);
      const last = curve.lr[n - 1];
      readout.textContent = `rate at step 0: ${label(curve.lr[0])}; at step ${n - 1}: ` +
        `${label(last)}; highest: ${label(Math.max(...curve.lr))}`;
      current = {family, params: p, ...curve, problem: null};
    }

    function build() {
      controls.innerHTML = "";
      for (const spec of families[select.value].params) {
        const [name, kind, value, min, max, step] = spec;
        const row = document.createElement("label");
        row.className = "lr-row";
        const title = document.createElement("span");
        title.textContent = name + (kind === "log" ? " (log slider)" : "");
        row.appendChild(title);
        let input;
        if (kind === "bool") {
          input = document.createElement("input");
          input.type = "checkbox";
          input.checked = value;
        } else if (kind === "choice") {
          input = document.createElement("select");
          for (const option of min) {
            const o = document.createElement("option");
            o.value = o.textContent = option;
            input.appendChild(o);
          }
          input.value = value;
        } else {
          input = document.createElement("input");
          input.type = "range";
          input.min = min;
          input.max = max;
          input.step = kind === "log" ? 0.01 : step;
          input.value = kind === "log" ? Math.log10(value) : value;
        }
        input.dataset.param = name;
        input.dataset.spec = JSON.stringify(spec);
        input.addEventListener("input", update);
        input.addEventListener("change", update);
        row.appendChild(input);
        row.appendChild(document.createElement("output"));
        controls.appendChild(row);
      }
      update();
    }

    select.addEventListener("change", build);
    lengthInput.addEventListener("input", update);
    build();
    window.lrExplorer.current = () => current;
  }

  window.lrExplorer = {schedules, momenta, families, evaluate, problem};
  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("lr-explorer");
    if (root) init(root);
  });
})();
