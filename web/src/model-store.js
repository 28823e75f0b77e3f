// model-store.js: the personalised model (a model file taught on this phone) in IndexedDB.
//
// Atomic: a save writes the new record under a new key and flips the `active` pointer in the
// same transaction (the previous record is deleted in that transaction too). If the transaction
// fails (quota, tab closed mid-save), IndexedDB rolls all of it back: the previous model, or
// none, stays active. Reverting to the shipped model deletes the pointer and the records, also
// in one transaction.
//
// record: {id, bytes: ArrayBuffer (the model file), notes: {label: expert's note}, summary,
//          labels, created: ISO time}

const db_name = 'folia-models';
const models = 'models';
const meta = 'meta';

function open_db() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(db_name, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(models)) db.createObjectStore(models, { keyPath: 'id' });
      if (!db.objectStoreNames.contains(meta)) db.createObjectStore(meta);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('model storage is blocked by another tab'));
  });
}

// A quota failure, recognisable by the UI (e.quota).
function storage_error(err) {
  const name = err && err.name;
  const e = new Error(err && err.message ? err.message : String(err || 'storage failed'));
  e.name = name || 'Error';
  e.quota = name === 'QuotaExceededError' || /quota/i.test(e.message);
  return e;
}

// Runs fn(stores) in one transaction over both stores; resolves with fn's value once committed.
async function transaction(mode, fn) {
  const db = await open_db();
  return new Promise((resolve, reject) => {
    let value;
    let t;
    try {
      t = db.transaction([models, meta], mode);
    } catch (e) {
      db.close();
      reject(storage_error(e));
      return;
    }
    t.oncomplete = () => { db.close(); resolve(value); };
    t.onabort = () => { db.close(); reject(storage_error(t.error || new Error('transaction aborted'))); };
    try {
      // fn reports its result through set(v) (request callbacks run after fn returns).
      fn({ models: t.objectStore(models), meta: t.objectStore(meta) }, (v) => { value = v; }, t);
    } catch (e) {
      try { t.abort(); } catch { /* already finished */ }
      db.close();
      reject(storage_error(e));
    }
  });
}

const req_value = (req, then) => { req.onsuccess = () => then(req.result); };

// The active personalised model's record, or null (none saved: the shipped model runs).
export function active_model() {
  return transaction('readonly', (s, set) => {
    set(null);
    req_value(s.meta.get('active'), (id) => {
      if (id === undefined) return;
      req_value(s.models.get(id), (rec) => set(rec || null));
    });
  });
}

// Saves a new model record and makes it the active one, atomically -> the new record.
export function save_model(rec) {
  const id = `m-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  const record = { ...rec, id, created: new Date().toISOString() };
  return transaction('readwrite', (s, set, t) => {
    set(record);
    req_value(s.meta.get('active'), (old) => {
      s.models.put(record);
      if (old !== undefined && old !== id) s.models.delete(old);
      const flip = s.meta.put(id, 'active');
      // Test hook: abort once every write has been done, as an interrupted save would be.
      if (globalThis.__folia_abort_next_save) {
        globalThis.__folia_abort_next_save = false;
        flip.onsuccess = () => t.abort();
      }
    });
  });
}

// Back to the shipped model: no active pointer, no saved records (one transaction).
export function clear_models() {
  return transaction('readwrite', (s) => {
    s.meta.delete('active');
    s.models.clear();
  });
}
