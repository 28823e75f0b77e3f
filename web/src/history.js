// history.js: past diagnoses kept on the device (IndexedDB), exportable as CSV. No photos are
// stored: only the file name, the top-3 labels and probabilities, and the time.

const db_name = 'folia';
const store = 'diagnoses';

function open_db() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(db_name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(store, { keyPath: 'id', autoIncrement: true });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function tx(mode, fn) {
  return open_db().then((db) => new Promise((resolve, reject) => {
    const t = db.transaction(store, mode);
    const r = fn(t.objectStore(store));
    t.oncomplete = () => { db.close(); resolve(r && 'result' in r ? r.result : undefined); };
    t.onerror = () => { db.close(); reject(t.error); };
    t.onabort = () => { db.close(); reject(t.error); };
  }));
}

// entry: {time: ISO string, file, top: [{label, p}], sure, ms, app_version}
export const add_entry = (entry) => tx('readwrite', (s) => s.add(entry));
export const all_entries = () => tx('readonly', (s) => s.getAll());
export const clear_entries = () => tx('readwrite', (s) => s.clear());

function csv_cell(v) {
  const s = v === undefined || v === null ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function to_csv(entries) {
  const head = ['time', 'file', 'label_1', 'p_1', 'label_2', 'p_2', 'label_3', 'p_3', 'sure', 'ms', 'app_version'];
  const rows = entries.map((e) => {
    const r = [e.time, e.file];
    for (let i = 0; i < 3; i++) r.push(e.top[i] ? e.top[i].label : '', e.top[i] ? e.top[i].p.toFixed(6) : '');
    r.push(e.sure ? 'true' : 'false', e.ms.toFixed(1), e.app_version || '');
    return r;
  });
  return [head, ...rows].map((r) => r.map(csv_cell).join(',')).join('\r\n') + '\r\n';
}
