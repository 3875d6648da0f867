// Upload progress of the ingest form (XMLHttpRequest upload events) and live progress of a job page
// (polls /jobs/<id>.json about every second; reloads the page when the job has finished, so the server
// renders the result; says so while no worker seems to run, and how many queued jobs wait ahead of it). No inline script: the Content-Security-Policy forbids it.
(function () {
  "use strict";
  var form = document.getElementById("ingest-form");
  if (form && window.FormData && window.XMLHttpRequest) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var bar = document.getElementById("upload-progress");
      var status = document.getElementById("upload-status");
      var button = form.querySelector("button[type=submit]");
      var xhr = new XMLHttpRequest();
      button.disabled = true;  // a second click never sends the files twice
      bar.hidden = false;
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          status.textContent = bar.value + "%";
        }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL) {
          window.location.assign(xhr.responseURL);
        } else {
          document.open(); document.write(xhr.responseText); document.close();
        }
      });
      xhr.addEventListener("error", function () {
        button.disabled = false;
        status.textContent = form.getAttribute("data-failed");
      });
      xhr.open("POST", form.action);
      xhr.send(new FormData(form));
    });
  }
  var job = document.getElementById("job");
  if (job && job.getAttribute("data-finished") === "false") {
    var poll = function () {
      var xhr = new XMLHttpRequest();
      xhr.open("GET", job.getAttribute("data-poll"));
      xhr.responseType = "json";
      xhr.addEventListener("load", function () {
        var data = xhr.response;
        if (xhr.status !== 200 || !data) { window.setTimeout(poll, 3000); return; }
        document.getElementById("job-state").textContent = data.labels.state;
        var bar = document.getElementById("job-progress");
        bar.max = data.progress.total || 1;
        bar.value = data.progress.done;
        document.getElementById("job-count").textContent = data.progress.done + " / " + (data.progress.total || "?");
        var idle = document.getElementById("job-no-worker");  // queued a while, and no `hsar worker` seems to run
        if (idle) { idle.hidden = !data.no_worker; }
        var ahead = document.getElementById("job-ahead");  // how many queued jobs wait ahead of it (a count only)
        if (ahead) {
          ahead.hidden = data.queued_ahead === null || data.queued_ahead === undefined;
          ahead.textContent = data.labels.ahead || "";
        }
        if (data.finished) { window.location.reload(); } else { window.setTimeout(poll, 1000); }
      });
      xhr.addEventListener("error", function () { window.setTimeout(poll, 3000); });
      xhr.send();
    };
    window.setTimeout(poll, 1000);
  }
}());
