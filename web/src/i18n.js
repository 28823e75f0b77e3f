// i18n.js: the UI's strings in English and Portuguese. The language comes from the saved choice,
// else navigator.language; the switch in the header flips and saves it.

const strings = {
  en: {
    title: 'Folia: leaf check',
    tagline: 'Photograph one leaf. Works without signal.',
    take_photo: 'Take a photo',
    pick_photo: 'Choose a photo',
    loading_engine: 'Getting ready…',
    ready: 'Ready. Works offline.',
    ready_online: 'Ready.',
    engine_failed: 'The checker could not start: ',
    working: 'Checking the leaf…',
    result: 'Result',
    healthy: 'Healthy',
    diseased: 'Disease',
    not_sure_title: 'Not sure',
    not_sure: 'Not sure: retake closer, in daylight, one leaf.',
    best_guess: 'Best guesses',
    advice: 'What to do',
    advice_note: 'General advice. Ask your local adviser before using any product.',
    history: 'History',
    history_empty: 'No checks yet.',
    export_csv: 'Export CSV',
    clear: 'Clear',
    clear_confirm: 'Delete all saved checks on this phone?',
    update_available: 'Update available',
    update: 'Update',
    error_image: 'This photo could not be read: ',
    took: 'took',
    lang_switch: 'Português',
    crop: 'Crop',
    offline_ready: 'Saved for offline use',
    photo_stays: 'Photos stay on this phone.',
  },
  pt: {
    title: 'Folia: ver a folha',
    tagline: 'Fotografe uma folha. Funciona sem rede.',
    take_photo: 'Tirar fotografia',
    pick_photo: 'Escolher fotografia',
    loading_engine: 'A preparar…',
    ready: 'Pronto. Funciona sem rede.',
    ready_online: 'Pronto.',
    engine_failed: 'Não foi possível iniciar: ',
    working: 'A analisar a folha…',
    result: 'Resultado',
    healthy: 'Saudável',
    diseased: 'Doença',
    not_sure_title: 'Sem certeza',
    not_sure: 'Sem certeza: repita mais perto, com luz do dia, uma só folha.',
    best_guess: 'Hipóteses',
    advice: 'O que fazer',
    advice_note: 'Conselho geral. Fale com o técnico da sua zona antes de usar qualquer produto.',
    history: 'Histórico',
    history_empty: 'Ainda sem análises.',
    export_csv: 'Exportar CSV',
    clear: 'Apagar',
    clear_confirm: 'Apagar todas as análises guardadas neste telemóvel?',
    update_available: 'Atualização disponível',
    update: 'Atualizar',
    error_image: 'Não foi possível ler esta fotografia: ',
    took: 'demorou',
    lang_switch: 'English',
    crop: 'Cultura',
    offline_ready: 'Guardado para uso sem rede',
    photo_stays: 'As fotografias ficam neste telemóvel.',
  },
};

const key = 'folia.lang';

export function initial_lang() {
  const saved = (() => { try { return localStorage.getItem(key); } catch { return null; } })();
  if (saved === 'en' || saved === 'pt') return saved;
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
  return String(langs[0]).toLowerCase().startsWith('pt') ? 'pt' : 'en';
}

export function save_lang(lang) {
  try { localStorage.setItem(key, lang); } catch { /* private mode: the choice lasts this visit */ }
}

export function t(lang, id) {
  return (strings[lang] && strings[lang][id]) || strings.en[id] || id;
}

// Fills every [data-i18n] element's text.
export function apply(lang, root = document) {
  document.documentElement.lang = lang;
  document.title = t(lang, 'title');
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(lang, el.dataset.i18n);
}
