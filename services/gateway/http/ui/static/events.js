// The live events feed: one EventSource on /events/stream, rows added as events arrive.
// The browser reconnects by itself and sends Last-Event-ID, so nothing is missed.
(function () {
  "use strict";
  var table = document.getElementById("events");
  var status = document.getElementById("feed-status");
  if (!table || !window.EventSource) { return; }
  var body = table.tBodies[0];
  var source = new EventSource("/events/stream?after=" + encodeURIComponent(table.dataset.after));
  function cell(row, text, href) {
    var td = row.insertCell(-1);
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      td.appendChild(a);
    } else {
      td.textContent = text;
    }
    return td;
  }
  source.addEventListener("open", function () {
    status.textContent = "Live: new events appear at the top as they happen.";
  });
  source.addEventListener("error", function () {
    status.textContent = "Reconnecting to the event feed…";
  });
  source.addEventListener("registry", function (message) {
    var event = JSON.parse(message.data);
    var row = body.insertRow(0);
    row.className = "new";
    cell(row, String(event.sequence)).className = "num";
    cell(row, event.type);
    cell(row, event.resource, event.url);
    cell(row, event.actor);
    cell(row, event.time);
  });
})();
