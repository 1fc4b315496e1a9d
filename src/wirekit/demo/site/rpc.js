// rpc.html's script: one JSON-RPC 2.0 call to /jsonrpc per submit, answer shown as text.
// No inline handlers and nothing from another origin, so a strict CSP allows it.
"use strict";

let nextId = 1;

function param(text) {
  // A number when it reads as one ("3", "-2.5"), else the text itself.
  return text.trim() !== "" && !Number.isNaN(Number(text)) ? Number(text) : text;
}

function field(id) {
  return document.getElementById(id).value;
}

function paramsFor(method) {
  if (method === "add" || method === "sub") {
    return [param(field("rpc-a")), param(field("rpc-b"))];
  }
  if (method === "echo") {
    return [param(field("rpc-a"))];
  }
  return [];
}

async function call(event) {
  event.preventDefault();
  const method = field("rpc-method");
  const request = {jsonrpc: "2.0", id: nextId++, method: method, params: paramsFor(method)};
  const shown = document.getElementById("rpc-request");
  const answer = document.getElementById("rpc-answer");
  shown.textContent = JSON.stringify(request);
  answer.textContent = "...";
  try {
    const response = await fetch("jsonrpc", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(request),
    });
    const reply = await response.json();
    answer.textContent = "error" in reply
      ? `error ${reply.error.code}: ${reply.error.message}`
      : JSON.stringify(reply.result, null, 2);
  } catch (error) {
    answer.textContent = `the call failed: ${error}`;
  }
}

document.getElementById("rpc-form").addEventListener("submit", call);
