// The console's shell: which page shows (#/explore, #/dashboard), what the server offers.
import {initExplorer} from './explorer.js';
import {initDashboard, showDashboard} from './dashboard.js';

let info = {mode: 'explorer', dashboard: false, admin: false};

function route() {
  const page = location.hash.startsWith('#/dashboard') ? 'dashboard' : 'explore';
  for (const p of ['explore', 'dashboard']) {
    document.getElementById(`page-${p}`).hidden = p !== page;
    const a = document.getElementById(`nav-${p}`);
    if (p === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (page === 'dashboard') showDashboard(info);
}

async function main() {
  try {
    const r = await fetch('/api/v1/info', {cache: 'no-store'});
    if (r.ok) info = await r.json();
  } catch (e) { /* explorer only */ }
  document.getElementById('mode').textContent = info.mode === 'server'
    ? 'key broker console' : 'explorer (no store)';
  initExplorer(info);
  initDashboard(info);
  window.addEventListener('hashchange', route);
  route();
}

main();

document.addEventListener('click', (ev) => {
  const skip = ev.target.closest('a.skip');
  if (!skip) return;
  ev.preventDefault();
  document.getElementById('main').focus();
});
