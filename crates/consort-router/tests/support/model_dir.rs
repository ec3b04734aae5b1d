//! Writes a Model2Vec model directory (`config.json`, `tokenizer.json`,
//! `model.safetensors`) for tests and benches that must not download one: a
//! lower-casing WordPiece tokenizer over the given words, one F32 row each.

use std::path::Path;

/// Special tokens, first in the vocabulary, with zero rows.
const SPECIAL: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// Writes the model for `rows` (word, vector; all vectors `dim` wide) in
/// `dir`.
pub(crate) fn write(dir: &Path, dim: usize, rows: &[(String, Vec<f32>)]) {
    let words = SPECIAL
        .iter()
        .map(|w| (*w).to_owned())
        .chain(rows.iter().map(|(w, _)| w.clone()));
    let vocab: serde_json::Map<String, serde_json::Value> = words
        .enumerate()
        .map(|(id, w)| (w, serde_json::Value::from(id)))
        .collect();
    let added: Vec<serde_json::Value> = SPECIAL
        .iter()
        .enumerate()
        .map(|(id, w)| {
            serde_json::json!({"id": id, "content": w, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let tokenizer = serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
            "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": null,
        "decoder": null,
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100, "vocab": vocab}
    });
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
    std::fs::write(dir.join("config.json"), r#"{"normalize": true}"#).unwrap();

    // safetensors: little-endian u64 header length, JSON header, raw data.
    let zero = vec![0.0_f32; dim];
    let data: Vec<u8> = std::iter::repeat_n(&zero, SPECIAL.len())
        .chain(rows.iter().map(|(_, v)| v))
        .flatten()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let mut header = serde_json::json!({
        "embeddings": {"dtype": "F32", "shape": [SPECIAL.len() + rows.len(), dim],
            "data_offsets": [0, data.len()]}
    })
    .to_string();
    while !header.len().is_multiple_of(8) {
        header.push(' ');
    }
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend(header.as_bytes());
    file.extend(&data);
    std::fs::write(dir.join("model.safetensors"), file).unwrap();
}
