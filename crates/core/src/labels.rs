//! The original's anatomical label lists (`dafne_dl/labels/thigh.py`, `leg.py`): the ROI names
//! its thigh and leg models write, and the ones the phantom generator draws. Here because the
//! model importer (dafne-ml) and the phantom (dafne-phantom) must agree on them.

/// Thigh (`thigh.py`): (short, long) name of label k + 1.
pub const THIGH_LABELS: [(&str, &str); 12] = [
    ("VL", "Vastus Lateralis"),
    ("VM", "Vastus Medialis"),
    ("VI", "Vastus Intermedius"),
    ("RF", "Rectus Femoris"),
    ("SAR", "Sartorius"),
    ("GRA", "Gracilis"),
    ("AM", "Adductor Magnus"),
    ("SM", "Semimembranosus"),
    ("ST", "Semitendinosus"),
    ("BFL", "Biceps Femoris Long"),
    ("BFS", "Biceps Femoris Short"),
    ("AL", "Adductor Longus"),
];

/// The original's leg labels (`dafne_dl/labels/leg.py`).
pub const LEG_LABELS: [(&str, &str); 6] = [
    ("SOL", "Soleus"),
    ("GM", "Gastrocnemius Medialis"),
    ("GL", "Gastrocnemius Lateralis"),
    ("TA", "Tibialis Anterior"),
    ("ELD", "Extensor Longus Digitorum"),
    ("PE", "Peroneus"),
];
