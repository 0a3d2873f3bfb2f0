// The PoQ dashboard's page script: renders the JSON model of offchain/dashboard/snapshot.py and keeps
// it live by polling /api/snapshot (or /api/task/<id>) every poll_ms. It redraws only when the block
// number changed. Every chain-provided string goes in through textContent, never as HTML.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("poq-data").textContent);
  const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777",
                   "#4b5563", "#65a30d", "#7c3aed", "#0d9488"];
  const charts = {};
  let nodeColors = {};  // address -> its color in every plot (its place in the nodes table)

  // ------------------------------------------------------------------ small helpers

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    Object.entries(props || {}).forEach(([key, value]) => {
      if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value);
    });
    children.flat().forEach((child) => {
      node.append(child instanceof Node ? child : document.createTextNode(child == null ? "" : String(child)));
    });
    return node;
  }

  function num(value, digits) {
    return value == null ? "–" : Number(value).toFixed(digits);
  }

  function signed(value, digits) {
    return value == null ? "–" : (value >= 0 ? "+" : "") + Number(value).toFixed(digits);
  }

  // An exact decimal ETH string from the server, rounded half up to 6 places for reading; the exact
  // value goes in the cell's title. BigInt, because a Number cannot hold 18 decimals.
  function ethShown(exact) {
    const negative = exact.startsWith("-");
    const [whole, fraction = ""] = exact.replace("-", "").split(".");
    const step = 10n ** 12n;
    const micro = (BigInt(whole + fraction.padEnd(18, "0")) + step / 2n) / step;
    const digits = micro.toString().padStart(7, "0");
    return (negative && micro !== 0n ? "-" : "") + digits.slice(0, -6) + "." + digits.slice(-6);
  }

  function ethCell(className, exact) {
    return el("td", { className: "num " + className, title: exact + " ETH" }, ethShown(exact));
  }

  function replaceRows(tbody, rows) {
    tbody.replaceChildren(...rows);
  }

  function setStatus(text, state) {
    const badge = document.getElementById("status");
    badge.textContent = text;
    badge.dataset.state = state;
  }

  function colorOf(index) {
    return PALETTE[index % PALETTE.length];
  }

  // ------------------------------------------------------------------ the index page

  function renderSummary(snap) {
    const c = snap.contract;
    document.getElementById("summary").replaceChildren(
      el("span", {}, "contract ", el("code", {}, c.address)),
      el("span", {}, "chain ", el("b", {}, c.chain_id)),
      el("span", {}, "block ", el("b", { id: "block" }, snap.block)),
      el("span", {}, "deployed at block ", el("b", {}, c.deployed_block)),
      el("span", {}, "RPC ", el("code", {}, snap.rpc_url)),
    );
  }

  function renderNodes(nodes) {
    replaceRows(document.querySelector("#nodes tbody"), nodes.map((n) => el("tr", { dataset: { address: n.address, status: n.status } },
      el("td", { className: "address", title: n.address }, n.address.slice(0, 10) + "…"),
      el("td", { className: "role" }, n.role),
      el("td", { className: "model" }, n.model),
      el("td", { className: "node-status" }, n.status),
      ethCell("stake", n.stake_eth),
      ethCell("balance", n.balance_eth),
      el("td", { className: "num units" }, n.units),
      el("td", { className: "num" }, signed(n.cumulative_reward, 3)),
      el("td", { className: "num" }, signed(n.average_reward, 3)),
      el("td", { className: "num jobs" }, n.jobs),
      el("td", { className: "num measured" }, num(n.measured_ms, 1)),
      el("td", { className: "num declared" }, num(n.declared_ms, 1)),
      el("td", { className: "num" }, num(n.cost, 3)),
      el("td", { className: "num" }, num(n.trust, 3)),
      el("td", { className: "num information" }, signed(n.information, 3)),
    )));
    if (!nodes.length) replaceRows(document.querySelector("#nodes tbody"), [el("tr", {}, el("td", { colspan: 15 }, "no nodes registered yet"))]);
  }

  function renderStages(snap) {
    document.getElementById("stages").replaceChildren(...snap.stages.map((s) =>
      el("li", { dataset: { stage: s.stage, count: s.tasks }, className: s.tasks ? "busy" : "" },
        el("span", { className: "stage-name" }, s.stage), el("span", { className: "stage-count" }, s.tasks),
        el("span", { className: "stage-batches" }, s.batches === 1 ? "1 batch" : s.batches + " batches"))));
    document.getElementById("stage-note").textContent = snap.task_count + " tasks in " + snap.batch_count +
      " batches; " + snap.expired + " expired (never answered: the node slashed, its seats void)";
  }

  function renderAccounting(a) {
    const rows = [["stakes", a.stakes_eth], ["balances", a.balances_eth],
                  ["· of which the treasury's", a.treasury_eth, "treasury " + a.treasury],
                  ["escrow (fees of open batches)", a.escrow_eth], ["owed in all", a.owed_eth],
                  ["contract holds", a.held_eth], ["difference", a.difference_eth],
                  ["slashed to the treasury, all time", a.slashed_eth],
                  ["fees retained by the treasury, all time", a.retained_eth],
                  ["refunded to requesters, all time", a.refunded_eth]];
    replaceRows(document.querySelector("#accounting tbody"), rows.map(([name, value, title]) =>
      el("tr", { className: name === "difference" ? (value === "0" ? "ok" : "bad") : (name.includes("all time") ? "history" : ""), title: title || "" },
        el("th", {}, name), el("td", { className: "num", title: value + " ETH" }, (name === "difference" ? value : ethShown(value)) + " ETH"))));
  }

  function renderTasks(snap) {
    document.getElementById("task-count").textContent = "(" + snap.task_count + " in all)";
    replaceRows(document.querySelector("#tasks tbody"), snap.tasks.map((t) => el("tr", { dataset: { taskId: t.task_id, stage: t.stage, expired: t.expired } },
      el("td", {}, el("a", { href: "/task/" + t.task_id }, "#" + t.task_id)),
      el("td", { className: "num" }, t.batch_id + "·" + t.index),
      el("td", { className: "stage" }, t.stage),
      el("td", { className: "num" }, t.opened_block),
      el("td", {}, t.node == null ? "(not drawn yet)" : t.node),
      el("td", { className: "panel" }, t.panel.map((seat) => el("div", {}, seat.label + ": " + num(seat.score, 1)))),
      el("td", { className: "num quality" + (t.expired ? " expired" : "") }, t.expired ? "expired" : num(t.quality, 3)),
      el("td", { className: "rewards" }, t.rewards.map((r) => el("div", {}, r.label + ": " + signed(r.reward, 3)))),
    )));
  }

  function renderParams(params) {
    document.getElementById("params").replaceChildren(...params.map((p) =>
      el("div", { title: p.name + " = " + p.value }, el("dt", {}, p.name), el("dd", {}, p.shown))));
  }

  // ------------------------------------------------------------------ plots (Chart.js)

  function lineSeries(series) {
    return series.map((s, i) => {
      const color = nodeColors[s.address] || colorOf(i);
      return {
        label: s.label, data: s.points.map(([x, y]) => ({ x: x, y: y })), stepped: true,
        borderColor: color, backgroundColor: color, pointRadius: 2, borderWidth: 2,
      };
    });
  }

  function costSeries(groups) {
    const shapes = { Inference: "circle", Evaluator: "triangle" };
    return groups.map((g, i) => ({
      label: g.role, data: g.points.map((p) => ({ x: p.measured_ms, y: p.average_reward, name: p.label, jobs: p.jobs, cost: p.cost })),
      pointStyle: shapes[g.role] || "rect", pointRadius: 7, borderColor: colorOf(i * 3), backgroundColor: colorOf(i * 3) + "99",
    }));
  }

  function drawChart(id, type, datasets, xTitle, yTitle, tooltip) {
    if (typeof Chart === "undefined") return;  // the page still works without its plots
    if (charts[id]) {
      charts[id].data.datasets = datasets;
      charts[id].update("none");
      return;
    }
    charts[id] = new Chart(document.getElementById(id), {
      type: type,
      data: { datasets: datasets },
      options: {
        animation: false, maintainAspectRatio: false, parsing: true,
        scales: {
          x: type === "scatter" ? { type: "linear", beginAtZero: true, title: { display: true, text: xTitle } }
                                : { type: "linear", bounds: "data", title: { display: true, text: xTitle } },
          y: { title: { display: true, text: yTitle } },
        },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } }, tooltip: tooltip ? { callbacks: { label: tooltip } } : {} },
      },
    });
  }

  function renderPlots(snap) {
    drawChart("plot-rewards", "line", lineSeries(snap.reward_history), "block", "cumulative reward (units)");
    drawChart("plot-cost", "scatter", costSeries(snap.reward_vs_cost), "measured cost (ms per task or seat)", "average reward per job",
      (ctx) => ctx.raw.name + ": " + num(ctx.raw.x, 0) + " ms (C " + num(ctx.raw.cost, 3) + "), " + signed(ctx.raw.y, 3) + " over " + ctx.raw.jobs + " jobs");
    const trust = document.getElementById("trust-figure");
    trust.hidden = !snap.trust_history;
    if (snap.trust_history) drawChart("plot-trust", "line", lineSeries(snap.trust_history), "block", "trust weight w");
  }

  function renderIndex(snap) {
    nodeColors = Object.fromEntries(snap.nodes.map((n, i) => [n.address, colorOf(i)]));
    renderSummary(snap);
    renderNodes(snap.nodes);
    renderStages(snap);
    renderAccounting(snap.accounting);
    renderTasks(snap);
    renderParams(snap.params);
    renderPlots(snap);
    document.body.dataset.block = snap.block;
  }

  // ------------------------------------------------------------------ the task page

  function renderTask(task) {
    document.getElementById("task-summary").replaceChildren(
      el("span", {}, "task ", el("b", {}, "#" + task.task_id)),
      el("span", {}, "batch ", el("b", {}, "#" + task.batch_id), " (task " + task.index + ")"),
      el("span", {}, "stage ", el("b", { id: "task-stage" }, task.stage)),
      el("span", {}, "node ", task.node ? el("b", { title: task.node.address }, task.node.label) : el("b", {}, "not drawn yet")),
      task.expired ? el("span", {}, "Q ", el("b", { id: "task-quality", className: "expired" }, "expired: the node never answered"))
                   : el("span", {}, "Q ", el("b", { id: "task-quality" }, num(task.quality, 4))),
      el("span", {}, "fee ", el("b", { title: task.fee_eth + " ETH" }, ethShown(task.fee_eth) + " ETH")),
      el("span", {}, "kind ", el("b", {}, task.kind)),
    );
    ["input", "output", "reference"].forEach((key) => {
      const text = task.texts[key];
      const box = document.getElementById("text-" + key);
      box.textContent = text != null ? text : (key === "output" && task.expired ? "(never answered)" : "(not on chain yet)");
      box.classList.toggle("missing", text == null);
    });
    replaceRows(document.querySelector("#panel tbody"), task.panel.map((seat) =>
      el("tr", {}, el("td", { title: seat.address }, seat.label), el("td", {}, seat.state), el("td", { className: "num" }, num(seat.score, 3)))));
    replaceRows(document.querySelector("#rewards tbody"), task.rewards.length ? task.rewards.map((r) =>
      el("tr", {}, el("td", { title: r.address }, r.label), el("td", { className: "num" }, signed(r.reward, 4)), ethCell("", r.eth)))
      : [el("tr", {}, el("td", { colspan: 3, className: "note" }, "credited when the batch is finalized"))]);
    document.body.dataset.stage = task.stage;
  }

  // ------------------------------------------------------------------ polling

  let lastKey = null;

  async function poll() {
    const url = config.page === "task" ? "/api/task/" + config.task.task_id : "/api/snapshot";
    try {
      const response = await fetch(url, { cache: "no-store" });
      const model = await response.json();
      if (model.status !== "live") {
        setStatus((model.status === "waiting" ? "waiting: " : "error: ") + model.error, model.status);
      } else if (config.page === "task") {
        renderTask(model);
        setStatus(model.settled ? "settled" : "live", "live");
        if (model.settled) return;  // a settled task never changes again
      } else {
        const key = model.contract.address + "@" + model.block;
        if (key !== lastKey) renderIndex(model);
        lastKey = key;
        setStatus("live · block " + model.block + " · " + new Date().toLocaleTimeString(), "live");
      }
    } catch (err) {
      setStatus("dashboard server unreachable", "error");
    }
    setTimeout(poll, config.poll_ms);
  }

  if (config.page === "task") {
    renderTask(config.task);
    if (config.task.settled) setStatus("settled", "live");
    else setTimeout(poll, config.poll_ms);
  } else if (config.page === "index") {
    poll();
  }
})();
