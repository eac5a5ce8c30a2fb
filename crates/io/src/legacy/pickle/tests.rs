#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

fn dict_get<'a>(u: &'a Unpickled, key: &str) -> &'a Value {
    let Value::Node(id) = u.root else { panic!() };
    let Some(Node::Dict(d)) = u.arena.get(id) else {
        panic!()
    };
    d.get_str(key).unwrap()
}

#[test]
fn memo_references_share_a_container_filled_after_memoising() {
    // {'a': L, 'b': L} with L = [1], memoised empty and appended to afterwards.
    let u = unpickle(b"\x80\x04}q\x00(X\x01\x00\x00\x00a]q\x01K\x01aX\x01\x00\x00\x00bh\x01u.")
        .unwrap();
    let (Value::Node(a), Value::Node(b)) = (dict_get(&u, "a"), dict_get(&u, "b")) else {
        panic!()
    };
    assert_eq!(a, b);
    assert!(matches!(&u.arena[*a], Node::List(items) if items.len() == 1));
}

#[test]
fn a_list_holding_itself_is_fine() {
    let u = unpickle(b"]q\x00h\x00a.").unwrap();
    let Value::Node(id) = u.root else { panic!() };
    assert!(
        matches!(&u.arena[id], Node::List(items) if matches!(items[0], Value::Node(i) if i == id))
    );
}

#[test]
fn integers_floats_and_strings() {
    let u = unpickle(b"(\x8a\x01\xff\x8a\x02\x00\x80M\xff\xffJ\xfe\xff\xff\xffG?\xf8\x00\x00\x00\x00\x00\x00U\x02\xe9at.").unwrap();
    let Value::Node(id) = u.root else { panic!() };
    let Node::Tuple(items) = &u.arena[id] else {
        panic!()
    };
    assert!(matches!(items[0], Value::Int(-1)));
    assert!(matches!(items[1], Value::Int(-32768)));
    assert!(matches!(items[2], Value::Int(65535)));
    assert!(matches!(items[3], Value::Int(-2)));
    assert!(matches!(items[4], Value::Float(f) if f == 1.5));
    assert!(matches!(&items[5], Value::Str(s) if &**s == "éa"));
}

#[test]
fn broken_pickles_are_errors() {
    let cases: [&[u8]; 12] = [
        b"",
        b"a.",
        b"0.",
        b"t.",
        b"(a.",
        b"h\x05.",
        b"X\xff\xff\xff\xff",
        b"\x8e\xff\xff\xff\xff\xff\xff\xff\xff",
        b"\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00.",
        b"\x80\x06.",
        b"N",
        b"\xff.",
    ];
    for case in cases {
        assert!(unpickle(case).is_err(), "{case:?}");
    }
    assert!(matches!(
        unpickle(b"X\xff\xff\xff\xff"),
        Err(DecodeError::Truncated { .. })
    ));
}

#[test]
fn forbidden_globals_even_when_never_called() {
    for (pickle, name) in [
        (&b"cbuiltins\ngetattr\n."[..], "builtins.getattr"),
        (b"\x8c\x08builtins\x8c\x04eval\x93.", "builtins.eval"),
        (b"ccopyreg\n_reconstructor\n.", "copyreg._reconstructor"),
        (b"cnumpy\nload\n.", "numpy.load"),
    ] {
        match unpickle(pickle) {
            Err(DecodeError::Forbidden { global }) => assert_eq!(global, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    // Opcodes that call or look up objects by other means are refused too.
    for pickle in [
        &b"(i__main__\nX\n."[..],
        b"(o.",
        b"\x82\x01.",
        b"P1\n.",
        b"\x97.",
    ] {
        assert!(
            matches!(unpickle(pickle), Err(DecodeError::Opcode { .. })),
            "{pickle:?}"
        );
    }
}

#[test]
fn opcode_count_is_bounded() {
    let mut pickle = b"N0".repeat(MAX_OPS / 2 + 1);
    pickle.extend_from_slice(b"N.");
    assert!(matches!(
        unpickle(&pickle),
        Err(DecodeError::Limit {
            what: "opcode count",
            ..
        })
    ));
}

#[test]
fn copying_a_memoised_list_again_and_again_is_bounded() {
    // L = [(0, 0)] * 100,000 memoised, then OrderedDict(L) over and over: each call copies L.
    let mut pickle = b"\x8c\x0bcollections\x8c\x0bOrderedDict\x93q\x00](".to_vec();
    pickle.extend(b"K\x00K\x00\x86".repeat(100_000));
    pickle.extend(b"eq\x01");
    pickle.extend(b"h\x00h\x01\x85R0".repeat(100));
    pickle.extend(b"N.");
    assert!(matches!(
        unpickle(&pickle),
        Err(DecodeError::Limit {
            what: "copied items",
            ..
        })
    ));
}

#[test]
fn long_argument_tuples_and_shapes_are_refused() {
    // numpy.dtype called with 17 arguments.
    let mut pickle = b"cnumpy\ndtype\n(".to_vec();
    pickle.extend(b"N".repeat(17));
    pickle.extend(b"tR.");
    assert!(unpickle(&pickle).is_err());
}

#[test]
fn a_long_key_reused_through_the_memo_is_hashed_once() {
    // A 1 MB string memoised, then used as the key of 50,000 SETITEMs: hashing it each time
    // would be 50 GB of work.
    let mut pickle = b"\x80\x04}X\x00\x00\x10\x00".to_vec();
    pickle.extend(std::iter::repeat_n(b'k', 1 << 20));
    pickle.extend(b"q\x000");
    pickle.extend(b"h\x00Ns".repeat(50_000));
    pickle.push(b'.');
    let started = std::time::Instant::now();
    let u = unpickle(&pickle).unwrap();
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    let Value::Node(id) = u.root else { panic!() };
    assert!(matches!(&u.arena[id], Node::Dict(d) if d.entries.len() == 1));
}
