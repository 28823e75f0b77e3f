// model-file.js: reads a Folia model file in JavaScript (layout: shared/include/folia/model-file.h)
// so the TensorFlow.js peer runs on exactly the weights the Folia engine loads. Classic script:
// defines self.FoliaModelFile. Checksums are not verified here: the Folia engine, given the same
// bytes in the same run, refuses a corrupt file, and the logits of every peer are compared.
(function (root) {
  'use strict';

  // bytes: ArrayBuffer -> {header (the JSON), tensors: {name: {shape, data: Float32Array}}}
  function parse(bytes) {
    const dv = new DataView(bytes);
    const magic = new TextDecoder().decode(new Uint8Array(bytes, 0, 8));
    if (magic !== 'FOLIAMDL') throw new Error('not a Folia model file');
    if (dv.getUint32(8, true) !== 1) throw new Error(`model format version ${dv.getUint32(8, true)}, expected 1`);
    const header_size = dv.getUint32(12, true);
    const payload_size = Number(dv.getBigUint64(16, true));
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(bytes, 32, header_size)));
    const start = Math.ceil((32 + header_size) / 64) * 64;  // payload is 64-byte aligned
    if (start + payload_size > bytes.byteLength) throw new Error('model file truncated');
    const tensors = {};
    for (const t of header.tensors) {
      const n = t.shape.reduce((a, b) => a * b, 1);
      // copy: the payload offset is 64-aligned, but little-endian f32 is read explicitly anyway
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = dv.getFloat32(start + t.offset + 4 * i, true);
      tensors[t.name] = { shape: t.shape, data };
    }
    return { header, tensors };
  }

  // BatchNorm folded into each convolution (as the Folia engine and ONNX Runtime do), filters
  // OIHW -> HWIO (TF's NHWC convolution), dense (out,in) -> (in,out).
  function folded_nhwc(m) {
    const arch = m.header.arch;
    const eps = arch.bn_eps;
    const get = (n) => {
      if (!m.tensors[n]) throw new Error(`tensor ${n} missing`);
      return m.tensors[n];
    };
    const blocks = [];
    let cin = 3;
    arch.channels.forEach((cout, i) => {
      const w = get(`block${i}.conv.weight`).data;  // (cout, cin, 3, 3)
      const b = get(`block${i}.conv.bias`).data;
      const g = get(`block${i}.bn.weight`).data, beta = get(`block${i}.bn.bias`).data;
      const mu = get(`block${i}.bn.running_mean`).data, v = get(`block${i}.bn.running_var`).data;
      const filter = new Float32Array(9 * cin * cout);  // (3, 3, cin, cout)
      const bias = new Float32Array(cout);
      for (let o = 0; o < cout; o++) {
        const s = g[o] / Math.sqrt(v[o] + eps);
        bias[o] = (b[o] - mu[o]) * s + beta[o];
        for (let c = 0; c < cin; c++) {
          for (let k = 0; k < 9; k++) filter[(k * cin + c) * cout + o] = w[(o * cin + c) * 9 + k] * s;
        }
      }
      blocks.push({ cin, cout, filter, bias });
      cin = cout;
    });
    const dense = (name) => {
      const t = get(`${name}.weight`);
      const [out, inp] = t.shape;
      const w = new Float32Array(out * inp);
      for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) w[i * out + o] = t.data[o * inp + i];
      return { in: inp, out, weight: w, bias: get(`${name}.bias`).data };
    };
    return { blocks, fc1: dense('fc1'), fc2: dense('fc2') };
  }

  root.FoliaModelFile = { parse, folded_nhwc };
})(typeof self !== 'undefined' ? self : this);
