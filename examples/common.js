/*
 * What every example page shares: load polysocket.js from the router, hand it a token function
 * that asks this application's backend for a fresh token per socket, then load the library.
 * `?target=` picks the WebSocket server (each page has a default), `?force=1` forces the tunnel.
 */
(() => {
  var params = {};
  location.search.replace(/[?&]([^=&]+)=([^&]*)/g, (_m, k, v) => {
    params[k] = decodeURIComponent(v);
  });
  function load(src, done) {
    var s = document.createElement('script');
    s.src = src;
    s.onload = done;
    s.onerror = () => {
      show(`could not load ${src}`, true);
    };
    document.head.appendChild(s);
  }
  function show(line, bad) {
    var el = document.createElement('div');
    el.appendChild(document.createTextNode(line));
    if (bad) el.style.color = '#b00';
    document.getElementById('log').appendChild(el);
  }
  function token(done) {
    var xhr = new XMLHttpRequest();
    xhr.open('GET', '/token', true);
    xhr.onload = () => {
      var body = JSON.parse(xhr.responseText);
      if (body.token) done(body.token);
      else show(`no token: ${body.error}`, true);
    };
    xhr.send();
  }
  window.example = {
    params: params,
    show: show,
    /** polysocket.js, configured, then the library; `run` gets the target URL. */
    start: (library, defaultTarget, run) => {
      // read when polysocket.js loads: with force it installs itself as window.WebSocket even beside a native one
      window.POLYSOCKET_CONFIG = { router: window.EXAMPLE.router, token: token, force: params.force === '1' };
      load(`${window.EXAMPLE.router}/polysocket.js`, () => {
        load(`/lib/${library}.js`, () => {
          window.result = run(params.target || defaultTarget).then(
            (r) => {
              show(`done: ${JSON.stringify(r)}`);
              return r;
            },
            (e) => {
              show(`failed: ${e.message}`, true);
              throw e;
            },
          );
        });
      });
    },
  };
})();
