//! Flat-index arithmetic on row-major shapes: broadcasting and axis moves.
//!
//! Every function returns, for each element of the *output* (in row-major order), the flat
//! index of the element of the *input* it reads; the IR stores exactly these lists.

/// Row-major strides of `shape`.
/// Row-major flat index of coordinate `c` in `shape`.
pub(crate) fn flat_of(c: &[usize], shape: &[usize]) -> usize {
    c.iter().zip(shape).fold(0, |acc, (&x, &n)| acc * n + x)
}

pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Calls `f(flat, coords)` for every element of `shape`, in row-major order.
pub(crate) fn for_each_coord(shape: &[usize], mut f: impl FnMut(usize, &[usize])) {
    let len: usize = shape.iter().product();
    let mut coords = vec![0usize; shape.len()];
    for flat in 0..len {
        f(flat, &coords);
        for axis in (0..shape.len()).rev() {
            coords[axis] += 1;
            if coords[axis] < shape[axis] {
                break;
            }
            coords[axis] = 0;
        }
    }
}

/// Numpy broadcasting of `input` to `output`: the input index each output element reads, or
/// `None` when `input` does not broadcast to `output`.
pub(crate) fn broadcast_map(input: &[usize], output: &[usize]) -> Option<Vec<u32>> {
    if input.len() > output.len() {
        return None;
    }
    let offset = output.len() - input.len();
    for (i, &d) in input.iter().enumerate() {
        if d != 1 && d != output[offset + i] {
            return None;
        }
    }
    let in_strides = strides(input);
    let mut map = Vec::with_capacity(output.iter().product());
    for_each_coord(output, |_, c| {
        let idx: usize =
            input.iter().enumerate().map(|(i, &d)| if d == 1 { 0 } else { c[offset + i] * in_strides[i] }).sum();
        map.push(idx as u32);
    });
    Some(map)
}

/// Moving axis `from` of `input` to position `to` (tract's `AxisOp::Move`): the output shape
/// and the gather indices. `None` if an axis is out of range.
pub(crate) fn move_axis(input: &[usize], from: usize, to: usize) -> Option<(Vec<usize>, Vec<u32>)> {
    if from >= input.len() || to >= input.len() {
        return None;
    }
    let mut perm: Vec<usize> = (0..input.len()).collect();
    let axis = perm.remove(from);
    perm.insert(to, axis);
    Some(permute(input, &perm))
}

/// Output axis `j` is input axis `perm[j]`: the output shape and the gather indices.
pub(crate) fn permute(input: &[usize], perm: &[usize]) -> (Vec<usize>, Vec<u32>) {
    let in_strides = strides(input);
    let out_shape: Vec<usize> = perm.iter().map(|&p| input[p]).collect();
    let mut idx = Vec::with_capacity(out_shape.iter().product());
    for_each_coord(&out_shape, |_, c| {
        idx.push(perm.iter().zip(c).map(|(&p, &x)| x * in_strides[p]).sum::<usize>() as u32);
    });
    (out_shape, idx)
}

/// True when `indices` reads every element in order (the gather is a no-op).
pub(crate) fn is_identity(indices: &[u32], input_len: usize) -> bool {
    indices.len() == input_len && indices.iter().enumerate().all(|(i, &x)| x as usize == i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shape() -> impl Strategy<Value = Vec<usize>> {
        prop::collection::vec(1usize..4, 0..4)
    }

    /// A naive, independent broadcast: index the input with clamped coordinates.
    fn naive_broadcast(input: &[usize], output: &[usize]) -> Vec<u32> {
        let n: usize = output.iter().product();
        let off = output.len() - input.len();
        (0..n)
            .map(|mut flat| {
                let mut coords = vec![0; output.len()];
                for a in (0..output.len()).rev() {
                    coords[a] = flat % output[a];
                    flat /= output[a];
                }
                let mut idx = 0;
                for (i, &d) in input.iter().enumerate() {
                    idx = idx * d + if d == 1 { 0 } else { coords[off + i] };
                }
                idx as u32
            })
            .collect()
    }

    #[test]
    fn strides_and_moves() {
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
        // transpose of a 2x3 matrix
        let (s, idx) = move_axis(&[2, 3], 1, 0).unwrap();
        assert_eq!(s, vec![3, 2]);
        assert_eq!(idx, vec![0, 3, 1, 4, 2, 5]);
        assert!(move_axis(&[2], 1, 0).is_none());
        assert_eq!(broadcast_map(&[3, 1], &[2, 3, 2]).unwrap(), vec![0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2]);
        assert!(broadcast_map(&[3], &[2]).is_none());
    }

    proptest! {
        #[test]
        fn broadcast_matches_naive(out in shape(), mask in prop::collection::vec(any::<bool>(), 4), drop in 0usize..4) {
            let drop = drop.min(out.len());
            let input: Vec<usize> = out[drop..].iter().zip(&mask).map(|(&d, &m)| if m { 1 } else { d }).collect();
            let map = broadcast_map(&input, &out).unwrap();
            prop_assert_eq!(&map, &naive_broadcast(&input, &out));
        }

        #[test]
        fn move_then_move_back_is_identity(s in prop::collection::vec(1usize..4, 1..5), a in 0usize..5, b in 0usize..5) {
            let (from, to) = (a % s.len(), b % s.len());
            let (mid, idx1) = move_axis(&s, from, to).unwrap();
            let (back, idx2) = move_axis(&mid, to, from).unwrap();
            prop_assert_eq!(&back, &s);
            let composed: Vec<u32> = idx2.iter().map(|&i| idx1[i as usize]).collect();
            prop_assert!(is_identity(&composed, s.iter().product()));
            // a gather is a permutation: every input read exactly once
            let mut sorted = idx1.clone();
            sorted.sort_unstable();
            prop_assert!(is_identity(&sorted, s.iter().product()));
        }
    }
}
