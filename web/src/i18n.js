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
    teach_open: 'Teach Folia',
    teach_title: 'Teach Folia a disease',
    teach_intro: 'Photos of one disease, labelled by someone who knows it. Folia learns it on this phone; nothing is sent.',
    teach_what: 'Which disease?',
    teach_new: 'A new disease…',
    teach_crop: 'Crop (optional)',
    teach_name: 'Name of the disease',
    teach_note: 'Advice to show (optional)',
    teach_note_ph: 'e.g. what the expert advises to do',
    teach_camera: 'Take photos',
    teach_gallery: 'Choose photos',
    teach_photos: 'photos',
    teach_clear_photos: 'Remove photos',
    teach_go: 'Teach',
    teach_running: 'Teaching…',
    teach_done: 'Learned. Folia now uses your personalised model.',
    teach_failed: 'Teaching failed: ',
    teach_need_name: 'Give the disease a name first.',
    teach_need_photos: 'Add at least one photo.',
    teach_before: 'Before',
    teach_after: 'After',
    teach_photo: 'Photo',
    personalised: 'Personalised',
    model_personalised: 'Personalised model (taught on this phone).',
    model_original: 'Original model.',
    revert: 'Back to the original model',
    revert_confirm: 'Forget what was taught on this phone and go back to the original model?',
    reverted: 'Back to the original model.',
    storage_full: 'Not enough storage on this phone to save the taught model. Free some space and try again; the previous model is kept.',
    storage_failed: 'The taught model could not be saved; the previous model is kept: ',
    saved_model_refused: 'The saved personalised model could not be loaded; using the original model.',
    cannot_teach: 'This version cannot teach.',
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
    teach_open: 'Ensinar o Folia',
    teach_title: 'Ensinar uma doença ao Folia',
    teach_intro: 'Fotografias de uma doença, identificadas por quem a conhece. O Folia aprende-a neste telemóvel; nada é enviado.',
    teach_what: 'Que doença?',
    teach_new: 'Uma doença nova…',
    teach_crop: 'Cultura (opcional)',
    teach_name: 'Nome da doença',
    teach_note: 'Conselho a mostrar (opcional)',
    teach_note_ph: 'ex. o que o técnico aconselha fazer',
    teach_camera: 'Tirar fotografias',
    teach_gallery: 'Escolher fotografias',
    teach_photos: 'fotografias',
    teach_clear_photos: 'Retirar fotografias',
    teach_go: 'Ensinar',
    teach_running: 'A aprender…',
    teach_done: 'Aprendido. O Folia usa agora o seu modelo personalizado.',
    teach_failed: 'Não foi possível ensinar: ',
    teach_need_name: 'Dê primeiro um nome à doença.',
    teach_need_photos: 'Junte pelo menos uma fotografia.',
    teach_before: 'Antes',
    teach_after: 'Depois',
    teach_photo: 'Fotografia',
    personalised: 'Personalizado',
    model_personalised: 'Modelo personalizado (ensinado neste telemóvel).',
    model_original: 'Modelo original.',
    revert: 'Voltar ao modelo original',
    revert_confirm: 'Esquecer o que foi ensinado neste telemóvel e voltar ao modelo original?',
    reverted: 'De volta ao modelo original.',
    storage_full: 'Não há espaço neste telemóvel para guardar o modelo ensinado. Liberte espaço e tente de novo; o modelo anterior mantém-se.',
    storage_failed: 'Não foi possível guardar o modelo ensinado; o modelo anterior mantém-se: ',
    saved_model_refused: 'Não foi possível abrir o modelo personalizado guardado; a usar o modelo original.',
    cannot_teach: 'Esta versão não consegue aprender.',
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
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(lang, el.dataset.i18nPlaceholder);
}
