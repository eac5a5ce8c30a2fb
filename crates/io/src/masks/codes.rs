//! Coded meaning of a segment from its ROI name, for DICOM SEG (Segment Description macro).
//!
//! Every code here was taken from pydicom's bundled DICOM code dictionary (`pydicom.sr`,
//! DICOM PS3.16 2024) and a test checks each one against it. That dictionary holds no SNOMED CT
//! concept for single thigh or leg muscles, so a known lower-limb muscle is coded as
//! Anatomical Structure / "Muscle of lower limb" with the thigh or lower leg as its anatomic
//! region and `_L`/`_R` as laterality; the exact muscle stays in SegmentLabel. Any other name
//! is Tissue / Muscle.

/// One coded concept (CodeValue, CodingSchemeDesignator, CodeMeaning).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    pub value: &'static str,
    pub scheme: &'static str,
    pub meaning: &'static str,
}

const fn sct(value: &'static str, meaning: &'static str) -> Code {
    Code {
        value,
        scheme: "SCT",
        meaning,
    }
}

/// CID 7150 Segmentation Property Categories.
pub const ANATOMICAL_STRUCTURE: Code = sct("91723000", "Anatomical Structure");
/// CID 7150; also CID 7151.
pub const TISSUE: Code = sct("85756007", "Tissue");
/// CID 7151 / 7166 (muscle tissue).
pub const MUSCLE: Code = sct("91727004", "Muscle");
/// CID 7151 / 7192 / 4031.
pub const MUSCLE_OF_LOWER_LIMB: Code = sct("102292000", "Muscle of lower limb");
/// CID 4031 Common Anatomic Regions.
pub const THIGH: Code = sct("68367000", "Thigh");
/// CID 4031.
pub const LOWER_LEG: Code = sct("30021000", "Lower leg");
/// CID 244 Laterality.
pub const RIGHT: Code = sct("24028007", "Right");
/// CID 244.
pub const LEFT: Code = sct("7771000", "Left");

/// Every code this module can emit (the test checks them all against pydicom).
pub const ALL: &[Code] = &[
    ANATOMICAL_STRUCTURE,
    TISSUE,
    MUSCLE,
    MUSCLE_OF_LOWER_LIMB,
    THIGH,
    LOWER_LEG,
    RIGHT,
    LEFT,
];

/// Muscles of the thigh (Dafne's thigh model labels and their neighbours).
const THIGH_MUSCLES: &[&str] = &[
    "vastus lateralis",
    "vastus medialis",
    "vastus intermedius",
    "rectus femoris",
    "sartorius",
    "gracilis",
    "adductor magnus",
    "adductor longus",
    "adductor brevis",
    "semimembranosus",
    "semitendinosus",
    "biceps femoris",
    "biceps femoris long",
    "biceps femoris short",
    "biceps femoris long head",
    "biceps femoris short head",
    "pectineus",
    "tensor fasciae latae",
];

/// Muscles of the lower leg (Dafne's leg model labels and their neighbours).
const LEG_MUSCLES: &[&str] = &[
    "soleus",
    "gastrocnemius",
    "gastrocnemius medialis",
    "gastrocnemius lateralis",
    "tibialis anterior",
    "tibialis posterior",
    "extensor longus digitorum",
    "extensor digitorum longus",
    "extensor hallucis longus",
    "flexor digitorum longus",
    "flexor hallucis longus",
    "peroneus",
    "peroneus longus",
    "peroneus brevis",
    "popliteus",
];

/// What a segment is, coded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentCoding {
    pub category: Code,
    pub kind: Code,
    /// Anatomic region of a known muscle (thigh or lower leg).
    pub region: Option<Code>,
    /// From a `_L` / `_R` suffix.
    pub laterality: Option<Code>,
}

/// The coding of an ROI name, e.g. `Vastus Lateralis_R` -> muscle of lower limb, thigh, right.
pub fn coding_for(name: &str) -> SegmentCoding {
    let trimmed = name.trim();
    let (base, laterality) = if let Some(b) = trimmed.strip_suffix("_R") {
        (b, Some(RIGHT))
    } else if let Some(b) = trimmed.strip_suffix("_L") {
        (b, Some(LEFT))
    } else {
        (trimmed, None)
    };
    let key = base
        .replace('_', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let region = if THIGH_MUSCLES.contains(&key.as_str()) {
        Some(THIGH)
    } else if LEG_MUSCLES.contains(&key.as_str()) {
        Some(LOWER_LEG)
    } else {
        None
    };
    match region {
        Some(_) => SegmentCoding {
            category: ANATOMICAL_STRUCTURE,
            kind: MUSCLE_OF_LOWER_LIMB,
            region,
            laterality,
        },
        None => SegmentCoding {
            category: TISSUE,
            kind: MUSCLE,
            region: None,
            laterality,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn muscle_names_get_region_and_laterality_and_others_are_generic() {
        let vl = coding_for("Vastus Lateralis_R");
        assert_eq!(vl.kind, MUSCLE_OF_LOWER_LIMB);
        assert_eq!(vl.region, Some(THIGH));
        assert_eq!(vl.laterality, Some(RIGHT));
        let sol = coding_for("soleus_L");
        assert_eq!((sol.region, sol.laterality), (Some(LOWER_LEG), Some(LEFT)));
        let other = coding_for("Muscle é");
        assert_eq!((other.category, other.kind), (TISSUE, MUSCLE));
        assert_eq!(other.region, None);
    }
}
