// Live cost preview: the server engine's rules (pricing/engine.py) in exact decimal
// arithmetic. Amounts are BigInt integers at a fixed scale (never floats); every line
// is rounded half-up to the currency's minor unit once, and the total is the sum of
// the rounded lines, exactly as the engine does.
(function () {
  "use strict";

  const UNIT_SCALE = 6; // decimals accepted for units
  const PRICE_SCALE = 8; // decimals of unit prices and fees
  const LINE_SCALE = UNIT_SCALE + PRICE_SCALE;
  const DECIMAL = /^\d+(\.\d+)?$/;

  function pow10(n) {
    return 10n ** BigInt(n);
  }

  // "12.5" at scale 3 -> 12500n; null when not a plain non-negative decimal or
  // when it has more decimals than the scale allows.
  function parseScaled(text, scale) {
    const value = String(text).trim();
    if (!DECIMAL.test(value)) return null;
    const [whole, fraction = ""] = value.split(".");
    if (fraction.replace(/0+$/, "").length > scale) return null;
    return BigInt(whole) * pow10(scale) + BigInt((fraction + "0".repeat(scale)).slice(0, scale) || "0");
  }

  function roundHalfUp(value, fromScale, toScale) {
    if (fromScale <= toScale) return value * pow10(toScale - fromScale);
    const divisor = pow10(fromScale - toScale);
    return (value + divisor / 2n) / divisor; // values are never negative
  }

  function format(value, scale) {
    const digits = value.toString().padStart(scale + 1, "0");
    if (scale === 0) return digits;
    return digits.slice(0, -scale) + "." + digits.slice(-scale);
  }

  function effectiveTiers(activity) {
    const open = { up_to: null, unit_price: activity.price_per_unit, flat_fee: "0" };
    if (!activity.volume_pricing_enabled || activity.tiers.length === 0) return [open];
    const last = activity.tiers[activity.tiers.length - 1];
    return last.up_to === null ? activity.tiers : activity.tiers.concat([open]);
  }

  // One activity: [{key, amount}] in minor units, plus whether the minimum bound.
  function activityCost(activity, units, agents, minor) {
    const lines = [];
    const fee = parseScaled(activity.base_agent_fee, PRICE_SCALE);
    lines.push({ key: "base_agent_fee", amount: roundHalfUp(fee * agents, PRICE_SCALE, minor) });
    const tiers = effectiveTiers(activity);
    const usageLine = (key, inTier, tier) => {
      const exact =
        inTier * parseScaled(tier.unit_price, PRICE_SCALE) +
        parseScaled(tier.flat_fee, PRICE_SCALE) * pow10(UNIT_SCALE);
      lines.push({ key: key, amount: roundHalfUp(exact, LINE_SCALE, minor) });
    };
    const stored = activity.volume_pricing_enabled ? activity.tiers.length : 0;
    const keyFor = (index) => (index < stored ? "tier_" + (index + 1) + "_cost" : "overflow_cost");
    if (stored === 0) {
      usageLine("usage_cost", units, tiers[0]);
    } else if (activity.tier_mode === "volume") {
      for (let index = 0; index < tiers.length; index++) {
        const tier = tiers[index];
        if (tier.up_to === null || units <= parseScaled(tier.up_to, UNIT_SCALE)) {
          usageLine(keyFor(index), units, tier);
          break;
        }
      }
    } else {
      let lower = 0n;
      for (let index = 0; index < tiers.length; index++) {
        if (units <= lower) break;
        const tier = tiers[index];
        const bound = tier.up_to === null ? null : parseScaled(tier.up_to, UNIT_SCALE);
        const upper = bound === null || units < bound ? units : bound;
        usageLine(keyFor(index), upper - lower, tier);
        if (bound === null) break;
        lower = bound;
      }
    }
    const subtotal = lines.reduce((sum, line) => sum + line.amount, 0n);
    const minimum = roundHalfUp(parseScaled(activity.minimum_charge, PRICE_SCALE), PRICE_SCALE, minor);
    const applied = subtotal < minimum;
    if (applied) lines.push({ key: "minimum_charge_adjustment", amount: minimum - subtotal });
    return { lines: lines, applied: applied };
  }

  // The whole model, as calculate_model_cost: unitsByType maps activity type to
  // BigInt units at UNIT_SCALE.
  function modelCost(config, unitsByType, agents) {
    const minor = config.minor_units;
    const single = config.model_type === "activity" && config.activities.length === 1;
    let lines = [];
    let applied = false;
    if (!single && config.model_type !== "activity") {
      const fee = parseScaled(config.subscription_fee, PRICE_SCALE);
      lines.push({ key: "subscription_fee", amount: roundHalfUp(fee, PRICE_SCALE, minor) });
    }
    for (const activity of config.activities) {
      const result = activityCost(activity, unitsByType[activity.activity_type] || 0n, agents, minor);
      applied = applied || result.applied;
      const prefix = single ? "" : activity.activity_type + ".";
      lines = lines.concat(result.lines.map((line) => ({ key: prefix + line.key, amount: line.amount })));
    }
    const total = lines.reduce((sum, line) => sum + line.amount, 0n);
    return { lines: lines, total: total, minimumApplied: applied, minor: minor };
  }

  function render(root, config) {
    const errors = [];
    const agentsText = root.querySelector("[data-calc-agents]").value.trim();
    let agents = 0n;
    if (!/^\d+$/.test(agentsText)) {
      errors.push("Agents must be a whole number, 0 or more.");
    } else {
      agents = BigInt(agentsText);
    }
    const unitsByType = {};
    for (const input of root.querySelectorAll("[data-calc-units]")) {
      const units = parseScaled(input.value === "" ? "0" : input.value, UNIT_SCALE);
      if (units === null) {
        errors.push("Units (" + input.dataset.calcUnits + ") must be a number, 0 or more, with at most 6 decimals.");
      } else {
        unitsByType[input.dataset.calcUnits] = units;
      }
    }
    const errorBox = root.querySelector("[data-calc-errors]");
    const body = root.querySelector("[data-calc-breakdown]");
    const totalCell = root.querySelector("[data-calc-total]");
    const minimumNote = root.querySelector("[data-calc-minimum]");
    errorBox.textContent = errors.join(" ");
    errorBox.hidden = errors.length === 0;
    body.replaceChildren();
    if (errors.length) {
      totalCell.textContent = "—";
      minimumNote.hidden = true;
      root.dataset.state = "invalid";
      return;
    }
    const result = modelCost(config, unitsByType, agents);
    for (const line of result.lines) {
      const row = document.createElement("tr");
      row.dataset.key = line.key;
      const name = document.createElement("td");
      name.textContent = line.key;
      const amount = document.createElement("td");
      amount.className = "num";
      amount.textContent = format(line.amount, result.minor);
      row.append(name, amount);
      body.append(row);
    }
    totalCell.textContent = format(result.total, result.minor);
    minimumNote.hidden = !result.minimumApplied;
    root.dataset.state = "ready";
  }

  function start(root) {
    const config = JSON.parse(document.getElementById(root.dataset.configId).textContent);
    const update = () => render(root, config);
    root.addEventListener("input", update);
    update();
  }

  window.pricingCalculator = { modelCost: modelCost, parseScaled: parseScaled, format: format };
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-calculator]").forEach(start);
  });
})();
