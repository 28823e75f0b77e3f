// classes.js: display names and short offline advice for the 38 PlantVillage classes, en + pt.
// Keyed by the model file's label strings; a label not listed here (a class taught on the phone,
// or added by incremental learning) still shows, with its own name and the expert's note as advice
// (else the generic advice).

const crops = {
  Apple: { en: 'Apple', pt: 'Macieira' },
  Blueberry: { en: 'Blueberry', pt: 'Mirtilo' },
  'Cherry_(including_sour)': { en: 'Cherry', pt: 'Cerejeira' },
  'Corn_(maize)': { en: 'Maize', pt: 'Milho' },
  Grape: { en: 'Grape', pt: 'Videira' },
  Orange: { en: 'Orange', pt: 'Laranjeira' },
  Peach: { en: 'Peach', pt: 'Pessegueiro' },
  'Pepper,_bell': { en: 'Bell pepper', pt: 'Pimento' },
  Potato: { en: 'Potato', pt: 'Batata' },
  Raspberry: { en: 'Raspberry', pt: 'Framboesa' },
  Soybean: { en: 'Soybean', pt: 'Soja' },
  Squash: { en: 'Squash', pt: 'Abóbora' },
  Strawberry: { en: 'Strawberry', pt: 'Morangueiro' },
  Tomato: { en: 'Tomato', pt: 'Tomateiro' },
};

const healthy = {
  en: 'No disease seen. Keep checking weekly, water at the base and keep leaves dry.',
  pt: 'Sem doença visível. Continue a vigiar todas as semanas, regue junto ao pé e mantenha as folhas secas.',
};

// [disease name en, pt, advice en, pt]
const diseases = {
  Apple___Apple_scab: ['Apple scab', 'Pedrado',
    'Rake and remove fallen leaves. Prune for air flow. Protective fungicide (e.g. copper or captan) from bud break in wet springs.',
    'Apanhe e retire as folhas caídas. Pode para arejar a copa. Fungicida preventivo (ex. cobre ou captana) desde o abrolhamento em primaveras húmidas.'],
  Apple___Black_rot: ['Black rot', 'Podridão negra',
    'Cut out dead wood and cankers, remove mummified fruit. Fungicide during bloom if it returns every year.',
    'Corte a madeira morta e os cancros, retire os frutos mumificados. Fungicida na floração se volta todos os anos.'],
  Apple___Cedar_apple_rust: ['Cedar apple rust', 'Ferrugem',
    'Remove nearby juniper galls if possible. Fungicide from pink bud to petal fall. Choose resistant varieties.',
    'Retire as galhas dos zimbros próximos se possível. Fungicida do botão rosa à queda das pétalas. Prefira variedades resistentes.'],
  'Cherry_(including_sour)___Powdery_mildew': ['Powdery mildew', 'Oídio',
    'Prune for light and air. Avoid excess nitrogen. Sulfur sprays at first white spots.',
    'Pode para dar luz e ar. Evite excesso de azoto. Enxofre aos primeiros sinais de pó branco.'],
  'Corn_(maize)___Cercospora_leaf_spot Gray_leaf_spot': ['Grey leaf spot', 'Cercosporiose',
    'Rotate crops, bury or remove residue. Use tolerant hybrids. Fungicide only if spots reach upper leaves before tasseling.',
    'Faça rotação, enterre ou retire os restos. Use híbridos tolerantes. Fungicida só se as manchas subirem às folhas de cima antes da bandeira.'],
  'Corn_(maize)___Common_rust_': ['Common rust', 'Ferrugem comum',
    'Usually mild. Use resistant hybrids; fungicide only on young plants with heavy rust.',
    'Em geral é leve. Use híbridos resistentes; fungicida só em plantas novas com muita ferrugem.'],
  'Corn_(maize)___Northern_Leaf_Blight': ['Northern leaf blight', 'Helmintosporiose',
    'Rotate crops and manage residue. Resistant hybrids. Fungicide if lesions spread before silking.',
    'Faça rotação e gira os restos. Híbridos resistentes. Fungicida se as lesões alastrarem antes da floração.'],
  Grape___Black_rot: ['Black rot', 'Podridão negra',
    'Remove mummified berries and infected leaves. Open the canopy. Protective fungicide from shoot growth to berry set.',
    'Retire bagos mumificados e folhas doentes. Areje a sebe. Fungicida preventivo do crescimento dos lançamentos ao vingamento.'],
  'Grape___Esca_(Black_Measles)': ['Esca', 'Esca',
    'No cure. Mark affected vines, prune them last, disinfect tools, protect large pruning cuts.',
    'Sem cura. Marque as cepas afetadas, pode-as no fim, desinfete as ferramentas, proteja os cortes grandes.'],
  'Grape___Leaf_blight_(Isariopsis_Leaf_Spot)': ['Leaf blight', 'Mancha das folhas',
    'Remove fallen leaves, improve air flow. The usual vineyard fungicide program controls it.',
    'Retire as folhas caídas, melhore o arejamento. Os tratamentos fungicidas habituais da vinha controlam-na.'],
  'Orange___Haunglongbing_(Citrus_greening)': ['Citrus greening (HLB)', 'Greening dos citrinos (HLB)',
    'No cure and it spreads by psyllids. Report it to the plant health service; infected trees are usually removed.',
    'Sem cura, espalha-se por psilas. Comunique aos serviços de sanidade vegetal; as árvores infetadas são em geral arrancadas.'],
  Peach___Bacterial_spot: ['Bacterial spot', 'Mancha bacteriana',
    'Copper sprays in autumn and at bud break. Avoid excess nitrogen. Prefer tolerant varieties.',
    'Cobre no outono e no abrolhamento. Evite excesso de azoto. Prefira variedades tolerantes.'],
  'Pepper,_bell___Bacterial_spot': ['Bacterial spot', 'Mancha bacteriana',
    'Remove affected plants early. Do not work wet plants. Copper sprays slow it. Use clean seed next season.',
    'Retire cedo as plantas afetadas. Não mexa nas plantas molhadas. O cobre abranda a doença. Use semente sã na próxima época.'],
  Potato___Early_blight: ['Early blight', 'Alternariose',
    'Remove lower infected leaves, rotate crops, feed the crop well. Fungicide if it spreads.',
    'Retire as folhas de baixo doentes, faça rotação, adube bem. Fungicida se alastrar.'],
  Potato___Late_blight: ['Late blight (mildew)', 'Míldio',
    'Act fast: it spreads in days in wet weather. Remove affected plants, fungicide on the rest, hill up tubers.',
    'Atue depressa: em tempo húmido alastra em dias. Retire as plantas afetadas, trate as restantes com fungicida, amontoe os tubérculos.'],
  Squash___Powdery_mildew: ['Powdery mildew', 'Oídio',
    'Space plants for air. Remove the worst leaves. Sulfur or potassium bicarbonate at first spots.',
    'Espace as plantas para arejar. Retire as piores folhas. Enxofre ou bicarbonato de potássio aos primeiros sinais.'],
  Strawberry___Leaf_scorch: ['Leaf scorch', 'Queima das folhas',
    'Remove old infected leaves after harvest. Avoid overhead watering. Renew beds every few years.',
    'Retire as folhas velhas doentes depois da colheita. Evite rega por cima. Renove os canteiros de poucos em poucos anos.'],
  Tomato___Bacterial_spot: ['Bacterial spot', 'Mancha bacteriana',
    'Remove affected leaves, do not work wet plants, copper sprays slow it. Use clean seed next season.',
    'Retire as folhas afetadas, não mexa nas plantas molhadas, o cobre abranda a doença. Use semente sã na próxima época.'],
  Tomato___Early_blight: ['Early blight', 'Alternariose',
    'Remove lower infected leaves, mulch the soil, stake plants. Fungicide if it spreads.',
    'Retire as folhas de baixo doentes, cubra o solo, tutore as plantas. Fungicida se alastrar.'],
  Tomato___Late_blight: ['Late blight (mildew)', 'Míldio',
    'Act fast: remove affected plants, keep leaves dry, fungicide on the rest. Do not compost infected plants.',
    'Atue depressa: retire as plantas afetadas, mantenha as folhas secas, fungicida nas restantes. Não faça composto com plantas doentes.'],
  Tomato___Leaf_Mold: ['Leaf mould', 'Cladosporiose',
    'Ventilate the greenhouse, lower humidity, remove affected leaves. Resistant varieties.',
    'Areje a estufa, baixe a humidade, retire as folhas afetadas. Variedades resistentes.'],
  Tomato___Septoria_leaf_spot: ['Septoria leaf spot', 'Septoriose',
    'Remove spotted lower leaves, mulch, water at the base. Rotate for 2-3 years.',
    'Retire as folhas de baixo com manchas, cubra o solo, regue junto ao pé. Rotação de 2-3 anos.'],
  'Tomato___Spider_mites Two-spotted_spider_mite': ['Spider mites', 'Ácaros (aranhiço)',
    'Check under the leaves. Spray water on leaf undersides, raise humidity, remove heavily hit leaves; use acaricide only if needed.',
    'Veja a página de baixo das folhas. Pulverize água por baixo das folhas, aumente a humidade, retire as folhas muito atacadas; acaricida só se necessário.'],
  Tomato___Target_Spot: ['Target spot', 'Mancha alvo',
    'Remove lower leaves, improve air flow, avoid wetting leaves. Fungicide if it spreads.',
    'Retire as folhas de baixo, melhore o arejamento, não molhe as folhas. Fungicida se alastrar.'],
  Tomato___Tomato_Yellow_Leaf_Curl_Virus: ['Yellow leaf curl virus', 'Vírus do frisado amarelo',
    'No cure. Remove infected plants, control whiteflies, use nets and resistant varieties.',
    'Sem cura. Arranque as plantas infetadas, controle a mosca-branca, use redes e variedades resistentes.'],
  Tomato___Tomato_mosaic_virus: ['Mosaic virus', 'Vírus do mosaico',
    'No cure. Remove infected plants, wash hands and tools, do not smoke near plants. Resistant varieties.',
    'Sem cura. Arranque as plantas infetadas, lave mãos e ferramentas, não fume junto às plantas. Variedades resistentes.'],
};

const generic = {
  en: 'Ask your local agricultural adviser before treating.',
  pt: 'Fale com o técnico agrícola da sua zona antes de tratar.',
};

// The expert's notes for taught classes ({label: note}, saved with the personalised model): a
// label with a note shows it as its advice, in either language.
let notes = {};
export function set_notes(map) { notes = { ...(map || {}) }; }
export function get_notes() { return { ...notes }; }

// -> {crop: {en,pt}, name: {en,pt}, healthy, advice: {en,pt}, expert: bool}
// A label not listed here (a class taught on the phone) shows its own name: "Crop___Disease"
// splits into crop and disease; a label without "___" has no crop (empty strings).
export function class_info(label) {
  const info = base_info(String(label));
  const note = notes[label];
  if (note) return { ...info, advice: { en: note, pt: note }, expert: true };
  return { ...info, expert: false };
}

function base_info(label) {
  const sep = label.indexOf('___');
  const crop_key = sep >= 0 ? label.slice(0, sep) : '';
  const rest = sep >= 0 ? label.slice(sep + 3) : label;
  const pretty = (s) => s.replace(/_/g, ' ').replace(/\s+/g, ' ').trim();
  const crop = crops[crop_key] || { en: pretty(crop_key), pt: pretty(crop_key) };
  if (/healthy/i.test(rest)) {
    return { crop, name: { en: 'Healthy', pt: 'Saudável' }, healthy: true, advice: healthy };
  }
  const d = diseases[label];
  if (!d) return { crop, name: { en: pretty(rest), pt: pretty(rest) }, healthy: false, advice: generic };
  return { crop, name: { en: d[0], pt: d[1] }, healthy: false, advice: { en: d[2], pt: d[3] } };
}

export const generic_advice = generic;
