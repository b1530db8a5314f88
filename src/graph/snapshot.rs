//! Binary snapshot: the whole graph (and optionally the policy document) in a compact,
//! versioned, checksummed form that loads without JSON parsing — adjacency arrays are read
//! back as they are, so an edge worker's cold start is dominated by copying, not parsing.
//!
//! Layout (little-endian): `KBACSNAP`, format version u32, flags u32, body length u64,
//! checksum u64 of the body, then the body: strings, nodes, outgoing and incoming CSR,
//! relationship properties, policy JSON text.

use super::adjacency::{Adjacency, Edge};
use super::{Graph, Node, NodeId, Property};
use crate::error::{Code, Error, Result};
use crate::value::Value;

pub const MAGIC: &[u8; 8] = b"KBACSNAP";
const FORMAT: u32 = 1;
const HEADER: usize = 8 + 4 + 4 + 8 + 8;

/// Word-at-a-time hash of the body: fast enough to check hundreds of MB at load.
fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h: u64 = 0x243F_6A88_85A3_08D3 ^ (bytes.len() as u64);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    for (i, b) in chunks.remainder().iter().enumerate() {
        h = (h ^ (u64::from(*b) << (i * 8))).wrapping_mul(K).rotate_left(29);
    }
    h ^ (h >> 31)
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn value(&mut self, v: &Value) {
        match v {
            Value::Null => self.u8(0),
            Value::Bool(false) => self.u8(1),
            Value::Bool(true) => self.u8(2),
            Value::Int(i) => {
                self.u8(3);
                self.u64(*i as u64);
            }
            Value::Float(f) => {
                self.u8(4);
                self.u64(f.to_bits());
            }
            Value::Str(s) => {
                self.u8(5);
                self.str(s);
            }
            Value::List(l) => {
                self.u8(6);
                self.len(l.len());
                l.iter().for_each(|x| self.value(x));
            }
            Value::Map(m) => {
                self.u8(7);
                self.len(m.len());
                for (k, x) in m {
                    self.str(k);
                    self.value(x);
                }
            }
            Value::DateTime(us) => {
                self.u8(8);
                self.u64(*us as u64);
            }
        }
    }
    fn props(&mut self, props: &[Property]) {
        self.len(props.len());
        for p in props {
            self.u32(p.name);
            self.value(&p.value);
            match &p.metadata {
                None => self.u8(0),
                Some(m) => {
                    self.u8(1);
                    self.value(m);
                }
            }
        }
    }
    fn csr(&mut self, g: &Graph, out: bool) {
        let n = g.nodes.len();
        let mut total = 0u32;
        self.len(n + 1);
        self.u32(0);
        for id in 0..n as NodeId {
            total = total.saturating_add(u32::try_from(if out { g.all_out(id) } else { g.all_in(id) }.len()).unwrap_or(u32::MAX));
            self.u32(total);
        }
        self.u32(total);
        for id in 0..n as NodeId {
            for e in if out { g.all_out(id) } else { g.all_in(id) } {
                self.u32(e.ty);
                self.u32(e.nbr);
            }
        }
    }
}

/// Serialise a graph (and an optional policy document) into a snapshot.
pub fn write(g: &Graph, policies: Option<&str>) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(64 + g.nodes.len() * 48));
    w.len(g.strings.len());
    for i in 0..g.strings.len() as u32 {
        w.str(g.strings.resolve(i));
    }
    w.len(g.nodes.len());
    for n in &g.nodes {
        w.u32(n.ty);
        w.u32(n.ext);
        w.u8(u8::from(n.identity) | (u8::from(n.alive) << 1));
        w.len(n.labels.len());
        n.labels.iter().for_each(|l| w.u32(*l));
        w.props(&n.props);
    }
    w.csr(g, true);
    w.csr(g, false);
    let mut rels: Vec<_> = g.rel_props.iter().collect();
    rels.sort_unstable_by_key(|(k, _)| **k);
    w.len(rels.len());
    for ((s, ty, t), props) in rels {
        w.u32(*s);
        w.u32(*ty);
        w.u32(*t);
        w.props(props);
    }
    match policies {
        None => w.u8(0),
        Some(p) => {
            w.u8(1);
            w.str(p);
        }
    }
    let body = w.0;
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&checksum(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

fn corrupt(what: &str) -> Error {
    Error::new(Code::SnapshotCorrupt, format!("snapshot is truncated or malformed ({what})"))
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| corrupt("length overflow"))?;
        let s = self.b.get(self.pos..end).ok_or_else(|| corrupt("unexpected end"))?;
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        self.take(1)?.first().copied().ok_or_else(|| corrupt("unexpected end"))
    }
    fn u32(&mut self) -> Result<u32> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    /// A count, checked against the bytes left so a forged count cannot reserve huge memory.
    fn count(&mut self, min_item_bytes: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item_bytes.max(1)) > self.b.len().saturating_sub(self.pos) {
            return Err(corrupt("count larger than the data"));
        }
        Ok(n)
    }
    fn str(&mut self) -> Result<&'a str> {
        let n = self.count(1)?;
        std::str::from_utf8(self.take(n)?).map_err(|_| corrupt("invalid UTF-8"))
    }
    fn value(&mut self, depth: usize) -> Result<Value> {
        if depth > 64 {
            return Err(corrupt("value nesting"));
        }
        Ok(match self.u8()? {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => Value::Int(self.u64()? as i64),
            4 => Value::Float(f64::from_bits(self.u64()?)),
            5 => Value::Str(self.str()?.into()),
            6 => {
                let n = self.count(1)?;
                (0..n).map(|_| self.value(depth + 1)).collect::<Result<Vec<_>>>().map(Value::List)?
            }
            7 => {
                let n = self.count(5)?;
                let mut m = Vec::with_capacity(n);
                for _ in 0..n {
                    let k: Box<str> = self.str()?.into();
                    m.push((k, self.value(depth + 1)?));
                }
                Value::Map(m)
            }
            8 => Value::DateTime(self.u64()? as i64),
            _ => return Err(corrupt("unknown value tag")),
        })
    }
    fn props(&mut self, strings: u32) -> Result<Vec<Property>> {
        let n = self.count(6)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let name = self.u32()?;
            if name >= strings {
                return Err(corrupt("property name out of range"));
            }
            let value = self.value(0)?;
            let metadata = match self.u8()? {
                0 => None,
                1 => Some(Box::new(self.value(0)?)),
                _ => return Err(corrupt("metadata flag")),
            };
            out.push(Property { name, value, metadata });
        }
        Ok(out)
    }
    fn csr(&mut self, nodes: usize, strings: u32) -> Result<Adjacency> {
        let n = self.count(4)?;
        if n != nodes + 1 {
            return Err(corrupt("adjacency size"));
        }
        let mut offsets = Vec::with_capacity(n);
        let mut prev = 0u32;
        for _ in 0..n {
            let o = self.u32()?;
            if o < prev {
                return Err(corrupt("adjacency offsets"));
            }
            prev = o;
            offsets.push(o);
        }
        let e = self.count(8)?;
        if e as u32 != prev {
            return Err(corrupt("adjacency edge count"));
        }
        let raw = self.take(e * 8)?;
        let mut edges = Vec::with_capacity(e);
        for c in raw.chunks_exact(8) {
            let mut a = [0u8; 4];
            let mut b = [0u8; 4];
            a.copy_from_slice(c.get(..4).unwrap_or(&[0; 4]));
            b.copy_from_slice(c.get(4..).unwrap_or(&[0; 4]));
            let edge = Edge { ty: u32::from_le_bytes(a), nbr: u32::from_le_bytes(b) };
            if edge.ty >= strings || edge.nbr as usize >= nodes {
                return Err(corrupt("edge out of range"));
            }
            edges.push(edge);
        }
        Adjacency::from_parts(offsets, edges).ok_or_else(|| corrupt("adjacency order"))
    }
}

/// Matching walks both directions, so a snapshot whose incoming lists are not exactly the
/// mirror of its outgoing lists (or that links deleted nodes) would answer differently from
/// one direction than from the other: refuse it. Lists are strictly sorted (checked when
/// read), so equal counts plus every outgoing edge found incoming means an exact mirror.
fn check_mirrored(g: &Graph) -> Result<()> {
    if g.out.edge_count() != g.inc.edge_count() {
        return Err(corrupt("incoming relationships do not mirror outgoing ones"));
    }
    let alive = |n: NodeId| g.nodes.get(n as usize).is_some_and(|x| x.alive);
    for s in 0..g.nodes.len() as NodeId {
        let out = g.out.list(s);
        if !out.is_empty() && !alive(s) {
            return Err(corrupt("relationship from a deleted node"));
        }
        for e in out {
            if !alive(e.nbr) {
                return Err(corrupt("relationship to a deleted node"));
            }
            if g.inc.list(e.nbr).binary_search(&Edge { ty: e.ty, nbr: s }).is_err() {
                return Err(corrupt("incoming relationships do not mirror outgoing ones"));
            }
        }
    }
    Ok(())
}

/// Read a snapshot: the graph and the policy document, if one was stored.
pub fn read(bytes: &[u8]) -> Result<(Graph, Option<String>)> {
    let head = bytes.get(..HEADER).ok_or_else(|| corrupt("header"))?;
    if head.get(..8) != Some(MAGIC.as_slice()) {
        return Err(Error::new(Code::SnapshotCorrupt, "not a kbac snapshot (no `KBACSNAP` prefix)"));
    }
    let mut r = Reader { b: head, pos: 8 };
    let format = r.u32()?;
    if format != FORMAT {
        return Err(Error::new(Code::SnapshotVersion, format!("snapshot format {format} is not supported (this engine reads {FORMAT})")));
    }
    let _flags = r.u32()?;
    let len = usize::try_from(r.u64()?).map_err(|_| corrupt("body length"))?;
    let sum = r.u64()?;
    let body = bytes.get(HEADER..).filter(|b| b.len() == len).ok_or_else(|| corrupt("body length"))?;
    if checksum(body) != sum {
        return Err(Error::new(Code::SnapshotChecksum, "snapshot checksum does not match; the file is damaged"));
    }
    let mut r = Reader { b: body, pos: 0 };
    let mut g = Graph::new();
    let ns = r.count(4)?;
    g.strings.reserve(ns, ns.saturating_mul(8));
    for _ in 0..ns {
        g.strings.push_unique(r.str()?);
    }
    let strings = ns as u32;
    let nn = r.count(13)?;
    g.nodes.reserve(nn);
    for id in 0..nn as NodeId {
        let ty = r.u32()?;
        let ext = r.u32()?;
        let flags = r.u8()?;
        if ty >= strings || ext >= strings {
            return Err(corrupt("node string out of range"));
        }
        let nl = r.count(4)?;
        let mut labels = Vec::with_capacity(nl);
        for _ in 0..nl {
            let l = r.u32()?;
            if l >= strings {
                return Err(corrupt("label out of range"));
            }
            labels.push(l);
        }
        let props = r.props(strings)?;
        let node = Node { ty, ext, identity: flags & 1 != 0, alive: flags & 2 != 0, labels, props };
        if node.alive {
            if g.find(ty, ext).is_some() {
                return Err(corrupt("duplicate node"));
            }
            g.index.insert(id, ext);
            if node.identity {
                g.identity_types.insert(ty);
            }
            g.by_label.entry(ty).or_default().push(id);
            for l in &node.labels {
                g.by_label.entry(*l).or_default().push(id);
            }
            g.node_count += 1;
        } else {
            g.free.push(id);
        }
        g.nodes.push(node);
    }
    g.out = r.csr(nn, strings)?;
    g.inc = r.csr(nn, strings)?;
    g.rel_count = g.out.edge_count();
    check_mirrored(&g)?;
    let nr = r.count(13)?;
    for _ in 0..nr {
        let (s, ty, t) = (r.u32()?, r.u32()?, r.u32()?);
        if g.out.list(s).binary_search(&Edge { ty, nbr: t }).is_err() {
            return Err(corrupt("properties of a missing relationship"));
        }
        let props = r.props(strings)?;
        g.rel_props.insert((s, ty, t), props);
    }
    let policies = match r.u8()? {
        0 => None,
        1 => Some(r.str()?.to_string()),
        _ => return Err(corrupt("policy flag")),
    };
    if r.pos != body.len() {
        return Err(corrupt("trailing bytes"));
    }
    g.version = 1;
    Ok((g, policies))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::graph::capture::{parse_batch, BatchKind};

    fn graph() -> Graph {
        let mut g = Graph::new();
        let b = parse_batch(
            r#"{"nodes":[{"external_id":"a","type":"P"},{"external_id":"b","type":"C"},{"external_id":"c","type":"C"}],
                "relationships":[{"source":{"external_id":"a","type":"P"},"target":{"external_id":"b","type":"C"},"type":"OWNS"}]}"#,
            BatchKind::Upsert,
            &crate::engine::Limits::default(),
        )
        .unwrap();
        g.check(&b).unwrap();
        g.apply(&b);
        g
    }

    #[test]
    fn round_trip_keeps_relationships() {
        let (g, _) = read(&write(&graph(), None)).unwrap();
        let owns = g.strings.get("OWNS").unwrap();
        assert!(g.has_edge(g.find_str("P", "a").unwrap(), owns, g.find_str("C", "b").unwrap()));
    }

    /// A checksummed snapshot whose incoming list points elsewhere than its outgoing list
    /// (`a->b` out, `c<-a` in) is refused, not loaded as a graph that answers differently
    /// from each end.
    #[test]
    fn incoming_lists_must_mirror_outgoing_lists() {
        let mut g = graph();
        let (a, c) = (g.find_str("P", "a").unwrap(), g.find_str("C", "c").unwrap());
        let owns = g.strings.get("OWNS").unwrap();
        g.inc = Adjacency::build(g.nodes.len(), vec![(c, Edge { ty: owns, nbr: a })]);
        let err = read(&write(&g, None)).unwrap_err();
        assert_eq!(err.code(), Code::SnapshotCorrupt);
        assert!(err.to_string().contains("mirror"), "{err}");
        // an incoming list with an extra edge: counts differ
        let mut g = graph();
        let b = g.find_str("C", "b").unwrap();
        g.inc = Adjacency::build(g.nodes.len(), vec![(b, Edge { ty: owns, nbr: a }), (c, Edge { ty: owns, nbr: a })]);
        assert_eq!(read(&write(&g, None)).unwrap_err().code(), Code::SnapshotCorrupt);
    }
}
