// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.19;

/// @title zkonnx halo2 verifier with the verifying key as data
/// @notice Verifies halo2 SHPLONK/KZG proofs (BN254, Keccak transcript) for the circuit whose
/// verifying-key data the constructor stores in a data contract. The code loops over the
/// commitments, evaluations and query sets that the data describes, so it is the same few
/// kilobytes for every circuit; only the data grows with the circuit's width. The quotient's
/// numerator (the constraints' formula, a postfix program in the data) runs as EVM code in a
/// program contract the constructor also creates (the program compiled one instruction to a
/// few opcodes by `vkdata::code`: about 30 gas an instruction instead of about 250 for
/// interpreting it); a key whose compiled program would outgrow EIP-170 gets none, and then
/// the program is interpreted. The data layout is documented in zkonnx-verifier-contracts'
/// `vkdata` module, and `vkdata::native` is this contract's algorithm in Rust, step for step,
/// except for what changes no result: the contract inverts SHPLONK's denominators in two
/// batches (one inversion each), skips the multiplications an identity point or a scalar of
/// one needs, and may run the program as code.
///
/// Calldata: the public values as 32-byte big-endian field elements, then the proof bytes.
/// A valid proof returns the word 1; anything else reverts without data, refunding the gas.
contract Halo2VerifierVk {
    /// The data contracts, each one STOP byte and then the next part of the verifying-key
    /// data (EIP-170 caps each at 24,575 bytes of data; unused parts are address 0).
    /// Deliberately not public: the contract has no function selectors, so no calldata (whose
    /// first word is a public value the prover may choose) can reach anything but the verifier.
    address internal immutable VK0;
    address internal immutable VK1;
    address internal immutable VK2;
    /// The program contract: the key's numerator program compiled to EVM code (its calldata is
    /// the program's operands, it returns the numerator; see `vkdata::code`), or address 0 when
    /// the code would outgrow EIP-170 (wide circuits), and then the program is interpreted.
    address internal immutable PROG;

    constructor(bytes memory vk, bytes memory program) {
        uint256 part = 24575;
        require(vk.length <= 3 * part, "vk data too large");
        address[3] memory parts;
        for (uint256 i = 0; i * part < vk.length; i++) {
            uint256 from = i * part;
            uint256 len = vk.length - from < part ? vk.length - from : part;
            // initcode that returns 0x00 || vk[from..from+len] as the data contract's code:
            // PUSH2 len+1, DUP1, PUSH1 10, RETURNDATASIZE, CODECOPY, RETURNDATASIZE, RETURN, then the
            // code it returns: 0x00 (STOP) and the part
            bytes memory init = new bytes(len + 11);
            address a;
            assembly {
                let dst := add(init, 0x20)
                mstore(dst, or(or(shl(248, 0x61), shl(232, add(len, 1))), shl(168, 0x80600a3d393df300)))
                let src := add(add(vk, 0x20), from)
                for { let k := 0 } lt(k, len) { k := add(k, 0x20) } {
                    mstore(add(add(dst, 11), k), mload(add(src, k)))
                }
                a := create(0, dst, add(len, 11))
            }
            require(a != address(0), "vk data contract not created");
            parts[i] = a;
        }
        VK0 = parts[0];
        VK1 = parts[1];
        VK2 = parts[2];
        // the program contract: initcode that returns the program as the contract's code (none
        // for an empty program: the verifier then interprets the program in the key data)
        require(program.length <= 24576, "program code too large");
        address prog;
        if (program.length > 0) {
            bytes memory pinit = new bytes(program.length + 10);
            assembly {
                let len := mload(program)
                let dst := add(pinit, 0x20)
                // PUSH2 len, DUP1, PUSH1 10, RETURNDATASIZE, CODECOPY, RETURNDATASIZE, RETURN
                mstore(dst, or(or(shl(248, 0x61), shl(232, len)), shl(176, 0x80600a3d393df3)))
                let src := add(program, 0x20)
                for { let k := 0 } lt(k, len) { k := add(k, 0x20) } {
                    mstore(add(add(dst, 10), k), mload(add(src, k)))
                }
                prog := create(0, dst, add(len, 10))
            }
            require(prog != address(0), "program contract not created");
        }
        PROG = prog;
    }

    fallback(bytes calldata) external returns (bytes memory) {
        address vk0 = VK0;
        address vk1 = VK1;
        address vk2 = VK2;
        address prog = PROG;
        assembly {
            // Memory: 0x000-0x1ff scratch for precompiles and the transcript's last hash (0x1e0),
            // 0x200-0x7ff registers (named below), 0x800-0x8bf the program's operand sources,
            // 0xa00 on: the data, then arrays.
            // Registers: 0x200 k, 0x220 public values, 0x240 phases, 0x260 temporaries,
            //   0x280 chunks, 0x2a0 evaluations, 0x2c0 instance queries, 0x2e0 preprocessed,
            //   0x300 Lagrange runs, 0x320 constants, 0x340 rotations, 0x360 sets,
            //   0x380 program bytes, 0x3a0 max stack,
            //   pointers into the data: 0x3c0 words (state, ω, 1/n, G1, g2, -s·g2),
            //   0x3e0 preprocessed, 0x400 constants, 0x420 rotations, 0x440 runs,
            //   0x460 instance queries, 0x480 sets, 0x4a0 program,
            //   challenges: 0x4c0 z, 0x4e0 zⁿ, 0x500 1/(zⁿ-1), 0x520 μ, 0x540 γ, 0x560 z',
            //   calldata offsets: 0x580 W, 0x5a0 W', 0x5c0 witnesses, 0x5e0 chunks, 0x600 evals,
            //   0x620/0x640 the accumulated point, 0x660 G's scalar, 0x680 z_s of set 0,
            //   0x6a0 γ power, 0x6c0 scratch pointer, 0x6e0 witnesses, 0x700 challenges,
            //   0x720 Lagrange values, 0x740 slots, arrays: 0x760 challenges, 0x780 Lagrange
            //   values, 0x7a0 denominators, 0x7c0 slots, 0x7e0 program stack.

            function fail() {
                revert(0, 0)
            }
            function r() -> v {
                v := 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001
            }
            function u8at(p) -> v {
                v := byte(0, mload(p))
            }
            function u16at(p) -> v {
                v := shr(240, mload(p))
            }
            function u32at(p) -> v {
                v := shr(224, mload(p))
            }
            function word(i) -> p {
                p := add(mload(0x3c0), mul(i, 0x20))
            }
            function at(base, i) -> p {
                p := add(mload(base), mul(i, 0x20))
            }
            // x^e mod r with the modexp precompile
            function expmod(x, e) -> v {
                mstore(0x00, 0x20)
                mstore(0x20, 0x20)
                mstore(0x40, 0x20)
                mstore(0x60, x)
                mstore(0x80, e)
                mstore(0xa0, r())
                if iszero(staticcall(gas(), 0x05, 0x00, 0xc0, 0x00, 0x20)) { fail() }
                v := mload(0x00)
            }
            function inv(x) -> v {
                if iszero(x) { fail() }
                v := expmod(x, sub(r(), 2))
            }
            function neg(x) -> v {
                v := mod(sub(r(), x), r())
            }
            // the accumulator (0x620) += s · (px, py); the identity (0, 0) adds nothing (zero
            // columns commit to it: no ecMul), and s = 1 needs no ecMul either
            function accMul(px, py, s) {
                if iszero(or(px, py)) { leave }
                mstore(0x100, px)
                mstore(0x120, py)
                if iszero(eq(s, 1)) {
                    mstore(0x140, s)
                    if iszero(staticcall(gas(), 0x07, 0x100, 0x60, 0x100, 0x40)) { fail() }
                }
                mstore(0x140, mload(0x620))
                mstore(0x160, mload(0x640))
                if iszero(staticcall(gas(), 0x06, 0x100, 0x80, 0x620, 0x40)) { fail() }
            }
            function accMulCalldata(cd, s) {
                accMul(calldataload(cd), calldataload(add(cd, 0x20)), s)
            }
            // a point in calldata: coordinates below q and on the curve, or (0, 0)
            function checkPoint(cd) {
                let x := calldataload(cd)
                let y := calldataload(add(cd, 0x20))
                let q := 0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47
                if iszero(and(lt(x, q), lt(y, q))) { fail() }
                if or(x, y) {
                    if iszero(eq(mulmod(y, y, q), addmod(mulmod(x, mulmod(x, x, q), q), 3, q))) { fail() }
                }
            }
            function checkScalar(cd) {
                if iszero(lt(calldataload(cd), r())) { fail() }
            }
            // Keccak transcript: hashes (last hash || calldata[from..to]), or (last hash || 0x01)
            // when nothing was absorbed since; keeps the hash at 0x1e0 and returns it mod r
            function squeeze(from, to) -> c {
                let tmp := mload(0x6c0)
                mstore(tmp, mload(0x1e0))
                let n := sub(to, from)
                switch n
                case 0 {
                    mstore8(add(tmp, 0x20), 1)
                    n := 1
                }
                default { calldatacopy(add(tmp, 0x20), from, n) }
                let h := keccak256(tmp, add(n, 0x20))
                mstore(0x1e0, h)
                c := mod(h, r())
            }

            // ---- the data: counts, pointers, array space ----------------------------------
            // appends a data contract's code after its STOP byte at `to`; returns the new end
            function copyPart(part, to) -> end {
                end := to
                if part {
                    let n := sub(extcodesize(part), 1)
                    extcodecopy(part, to, 1, n)
                    end := add(to, n)
                }
            }
            function loadData(part0, part1, part2) {
                let D := 0xa00
                let size := sub(copyPart(part2, copyPart(part1, copyPart(part0, D))), D)
                if iszero(eq(u8at(D), 1)) { fail() }
                mstore(0x200, u8at(add(D, 1)))
                mstore(0x220, u16at(add(D, 2)))
                let nPhases := u16at(add(D, 4))
                mstore(0x240, nPhases)
                let p := add(add(D, 6), mul(nPhases, 4))
                for { let i := 0 } lt(i, 10) { i := add(i, 1) } {
                    mstore(add(0x280, mul(i, 0x20)), u16at(add(p, mul(i, 2))))
                }
                mstore(0x260, u16at(add(p, 20)))
                p := add(p, 22)
                mstore(0x3c0, p)
                p := add(p, 0x1a0)
                mstore(0x3e0, p)
                p := add(p, mul(mload(0x2e0), 0x40))
                mstore(0x400, p)
                p := add(p, mul(mload(0x320), 0x20))
                mstore(0x420, p)
                p := add(p, mul(mload(0x340), 0x20))
                mstore(0x440, p)
                p := add(p, mul(mload(0x300), 6))
                mstore(0x460, p)
                p := add(p, mul(mload(0x2c0), 2))
                mstore(0x480, p)
                // the program follows the sets
                for { let s := 0 } lt(s, mload(0x360)) { s := add(s, 1) } {
                    let ns := u8at(p)
                    let np := u16at(add(add(p, 1), ns))
                    p := add(add(add(p, 3), ns), add(mul(ns, 0x20), mul(np, add(2, mul(ns, 2)))))
                }
                mstore(0x4a0, p)
                if iszero(eq(add(p, mload(0x380)), add(D, size))) { fail() }

                let nw := 0
                let nc := 0
                for { let i := 0 } lt(i, nPhases) { i := add(i, 1) } {
                    nw := add(nw, u16at(add(add(D, 6), mul(i, 4))))
                    nc := add(nc, u16at(add(add(D, 8), mul(i, 4))))
                }
                mstore(0x6e0, nw)
                mstore(0x700, nc)
                let nl := 0
                for { let i := 0 } lt(i, mload(0x300)) { i := add(i, 1) } {
                    nl := add(nl, u16at(add(add(mload(0x440), mul(i, 6)), 4)))
                }
                mstore(0x720, nl)
                mstore(0x740, add(add(mload(0x2c0), mload(0x2a0)), 1))
                let free := add(add(D, size), 0x40)
                mstore(0x760, free)
                mstore(0x780, add(mload(0x760), mul(nc, 0x20)))
                mstore(0x7a0, add(mload(0x780), mul(nl, 0x20)))
                mstore(0x7c0, add(mload(0x7a0), mul(add(nl, 1), 0x20)))
                mstore(0x7e0, add(mload(0x7c0), mul(mload(0x740), 0x20)))
                mstore(0x8a0, add(mload(0x7e0), mul(add(mload(0x3a0), 1), 0x20)))
                mstore(0x6c0, add(mload(0x8a0), mul(mload(0x260), 0x20)))
            }

            // ---- the transcript: checks every value, squeezes every challenge ------------------
            function readPhases(pos) -> next, from {
                let c := 0
                from := 0
                for { let ph := 0 } lt(ph, mload(0x240)) { ph := add(ph, 1) } {
                    let nw := u16at(add(0xa06, mul(ph, 4)))
                    let nc := u16at(add(0xa08, mul(ph, 4)))
                    for { let i := 0 } lt(i, nw) { i := add(i, 1) } {
                        checkPoint(pos)
                        pos := add(pos, 0x40)
                    }
                    for { let i := 0 } lt(i, nc) { i := add(i, 1) } {
                        mstore(at(0x760, c), squeeze(from, pos))
                        from := pos
                        c := add(c, 1)
                    }
                }
                next := pos
            }
            function readTranscript() {
                let nInst := mload(0x220)
                let proofStart := mul(nInst, 0x20)
                let proofLen := add(mul(add(add(mload(0x6e0), mload(0x280)), 2), 0x40), mul(mload(0x2a0), 0x20))
                if iszero(eq(calldatasize(), add(proofStart, proofLen))) { fail() }
                for { let i := 0 } lt(i, nInst) { i := add(i, 1) } { checkScalar(mul(i, 0x20)) }
                // the initial state stands in for the last hash: the first squeeze hashes
                // state || public values || first witnesses, as the prover's transcript did
                mstore(0x1e0, mload(word(0)))
                mstore(0x5c0, proofStart)
                let pos, from := readPhases(proofStart)
                mstore(0x5e0, pos)
                for { let i := 0 } lt(i, mload(0x280)) { i := add(i, 1) } {
                    checkPoint(pos)
                    pos := add(pos, 0x40)
                }
                mstore(0x4c0, squeeze(from, pos))
                from := pos
                mstore(0x600, pos)
                for { let i := 0 } lt(i, mload(0x2a0)) { i := add(i, 1) } {
                    checkScalar(pos)
                    pos := add(pos, 0x20)
                }
                mstore(0x520, squeeze(from, pos))
                mstore(0x540, squeeze(pos, pos))
                checkPoint(pos)
                mstore(0x580, pos)
                mstore(0x560, squeeze(pos, add(pos, 0x40)))
                pos := add(pos, 0x40)
                checkPoint(pos)
                mstore(0x5a0, pos)
            }

            // ---- zⁿ and L_i(z) = (zⁿ-1)/n · ω^i/(z-ω^i) for the Lagrange list -------------------
            function lagranges() {
                let R := r()
                let z := mload(0x4c0)
                let zn := z
                for { let i := 0 } lt(i, mload(0x200)) { i := add(i, 1) } { zn := mulmod(zn, zn, R) }
                mstore(0x4e0, zn)
                let omega := mload(word(1))
                let j := 0
                for { let i := 0 } lt(i, mload(0x300)) { i := add(i, 1) } {
                    let run := add(mload(0x440), mul(i, 6))
                    let w := expmod(omega, u32at(run))
                    for { let t := 0 } lt(t, u16at(add(run, 4))) { t := add(t, 1) } {
                        mstore(at(0x780, j), w)
                        j := add(j, 1)
                        w := mulmod(w, omega, R)
                    }
                }
                // batch inversion of every z - ω^i and of zⁿ - 1
                let nl := mload(0x720)
                let zn1 := addmod(zn, sub(R, 1), R)
                let acc := 1
                for { let i := 0 } lt(i, nl) { i := add(i, 1) } {
                    mstore(at(0x7a0, i), acc)
                    acc := mulmod(acc, addmod(z, sub(R, mload(at(0x780, i))), R), R)
                }
                let all := inv(mulmod(acc, zn1, R))
                mstore(0x500, mulmod(all, acc, R))
                acc := mulmod(all, zn1, R) // 1 / ∏(z - ω^i)
                let numer := mulmod(zn1, mload(word(2)), R)
                for { let i := nl } gt(i, 0) { } {
                    i := sub(i, 1)
                    let wi := mload(at(0x780, i))
                    let invd := mulmod(acc, mload(at(0x7a0, i)), R)
                    acc := mulmod(acc, addmod(z, sub(R, wi), R), R)
                    mstore(at(0x780, i), mulmod(mulmod(numer, wi, R), invd, R))
                }
            }

            // ---- slots: instance evaluations, then the proof's --------------------------------
            function fillSlots() {
                let R := r()
                for { let i := 0 } lt(i, mload(0x2c0)) { i := add(i, 1) } {
                    let base := at(0x780, u16at(add(mload(0x460), mul(i, 2))))
                    let s := 0
                    for { let j := 0 } lt(j, mload(0x220)) { j := add(j, 1) } {
                        s := addmod(s, mulmod(calldataload(mul(j, 0x20)), mload(add(base, mul(j, 0x20))), R), R)
                    }
                    mstore(at(0x7c0, i), s)
                }
                calldatacopy(at(0x7c0, mload(0x2c0)), mload(0x600), mul(mload(0x2a0), 0x20))
            }

            // ---- the numerator; the quotient slot gets numerator / (zⁿ - 1) --------------------
            // The key's numerator program runs as EVM code in the program contract (PROG): its
            // calldata is the operands (constants, slots, challenges, Lagrange values, z), one
            // word each in that order, and it returns the numerator.
            function copyWords(from, to, n) -> end {
                for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                    mstore(add(to, shl(5, i)), mload(add(from, shl(5, i))))
                }
                end := add(to, shl(5, n))
            }
            function runProgram(program) {
                let buf := mload(0x6c0)
                let p := copyWords(mload(0x400), buf, mload(0x320))
                p := copyWords(mload(0x7c0), p, mload(0x740))
                p := copyWords(mload(0x760), p, mload(0x700))
                p := copyWords(mload(0x780), p, mload(0x720))
                mstore(p, mload(0x4c0))
                p := add(p, 0x20)
                if iszero(staticcall(gas(), program, buf, sub(p, buf), 0x00, 0x20)) { fail() }
                if iszero(eq(returndatasize(), 0x20)) { fail() }
                mstore(at(0x7c0, sub(mload(0x740), 1)), mulmod(mload(0x00), mload(0x500), r()))
            }

            // ---- the numerator, interpreted (keys whose program code outgrows EIP-170: no PROG) ------
            // The top of the stack lives in `acc`, the rest in memory below `top`. Values may
            // be r itself (a negated zero): addmod and mulmod reduce whatever they are given.
            function interpretProgram() {
                let R := r()
                // operand sources: constants, slots, challenges, Lagrange values, z, temporaries
                // (0x8a0, set with the other arrays)
                mstore(0x800, mload(0x400))
                mstore(0x820, mload(0x7c0))
                mstore(0x840, mload(0x760))
                mstore(0x860, mload(0x780))
                mstore(0x880, 0x4c0)
                let ip := mload(0x4a0)
                let end := add(ip, mload(0x380))
                let top := mload(0x7e0)
                let acc := 0
                for { } lt(ip, end) { } {
                    let w := mload(ip)
                    let code := byte(0, w)
                    switch lt(code, 6)
                    case 1 {
                        let addr := add(mload(add(0x800, shl(5, byte(1, w)))), shl(5, and(shr(224, w), 0xffff)))
                        ip := add(ip, 4)
                        switch code
                        case 0 {
                            mstore(top, acc)
                            top := add(top, 0x20)
                            acc := mload(addr)
                        }
                        case 1 { acc := addmod(acc, mload(addr), R) }
                        case 2 { acc := mulmod(acc, mload(addr), R) }
                        case 3 { acc := addmod(acc, sub(R, mload(addr)), R) }
                        case 4 { acc := addmod(mulmod(acc, mload(sub(top, 0x20)), R), mload(addr), R) }
                        default { mstore(addr, acc) }
                    }
                    default {
                        ip := add(ip, 1)
                        switch code
                        case 6 {
                            top := sub(top, 0x20)
                            acc := addmod(mload(top), acc, R)
                        }
                        case 7 {
                            top := sub(top, 0x20)
                            acc := mulmod(mload(top), acc, R)
                        }
                        case 8 {
                            top := sub(top, 0x20)
                            acc := addmod(mload(top), sub(R, acc), R)
                        }
                        case 9 { acc := sub(R, acc) }
                        case 10 {
                            top := sub(top, 0x20)
                            acc := addmod(mulmod(mload(top), mload(sub(top, 0x20)), R), acc, R)
                        }
                        case 11 { top := sub(top, 0x20) }
                        default { fail() }
                    }
                }
                // one value left: the memory stack holds only the placeholder the first push saved
                if iszero(eq(top, add(mload(0x7e0), 0x20))) { fail() }
                mstore(at(0x7c0, sub(mload(0x740), 1)), mulmod(acc, mload(0x500), R))
            }

            // ---- SHPLONK (BDFG21) --------------------------------------------------------------
            // Inverts the n words at p in place with one inversion (Montgomery's trick; tmp holds n
            // prefix products). Fails if any word is zero, as inverting it alone would.
            function batchInv(p, n, tmp) {
                let R := r()
                let acc := 1
                for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                    mstore(add(tmp, shl(5, i)), acc)
                    acc := mulmod(acc, mload(add(p, shl(5, i))), R)
                }
                let x := inv(acc)
                for { let i := n } gt(i, 0) { } {
                    i := sub(i, 1)
                    let q := add(p, shl(5, i))
                    let v := mload(q)
                    mstore(q, mulmod(x, mload(add(tmp, shl(5, i))), R))
                    x := mulmod(x, v, R)
                }
            }
            // The next set after the one at sp (header: ns, rotations, np, ell values, entries).
            function nextSet(sp) -> next {
                let ns := u8at(sp)
                let np := u16at(add(add(sp, 1), ns))
                next := add(add(add(add(sp, 3), ns), mul(ns, 0x20)), mul(np, add(2, mul(ns, 2))))
            }
            // Set sp's barycentric weight denominators ell_j · z^(ns-1) · (z' - ω^r_j z) at wp;
            // returns z_s = ∏(z' - ω^r_j z).
            function denominators(sp, wp) -> zs {
                let R := r()
                let z := mload(0x4c0)
                let ns := u8at(sp)
                let zk := 1
                for { let i := 1 } lt(i, ns) { i := add(i, 1) } { zk := mulmod(zk, z, R) }
                zs := 1
                let ell := add(add(sp, 3), ns)
                for { let j := 0 } lt(j, ns) { j := add(j, 1) } {
                    let wr := mload(at(0x420, u8at(add(add(sp, 1), j))))
                    let d := addmod(mload(0x560), sub(R, mulmod(z, wr, R)), R)
                    zs := mulmod(zs, d, R)
                    mstore(add(wp, shl(5, j)), mulmod(mulmod(mload(add(ell, mul(j, 0x20))), zk, R), d, R))
                }
            }
            // adds coeff · commitment c to the accumulator
            function addCommitment(c, coeff) {
                switch c
                case 0x8000 {
                    for { let i := 0 } lt(i, mload(0x280)) { i := add(i, 1) } {
                        accMulCalldata(add(mload(0x5e0), mul(i, 0x40)), coeff)
                        coeff := mulmod(coeff, mload(0x4e0), r())
                    }
                }
                default {
                    switch and(c, 0x4000)
                    case 0 {
                        let pt := add(mload(0x3e0), mul(c, 0x40))
                        accMul(mload(pt), mload(add(pt, 0x20)), coeff)
                    }
                    default { accMulCalldata(add(mload(0x5c0), mul(and(c, 0x3fff), 0x40)), coeff) }
                }
            }
            // Σ_j weight_j · slot_j for one polynomial's entry (weights at wp)
            function interpolate(ep, ns, wp) -> v {
                let R := r()
                for { let j := 0 } lt(j, ns) { j := add(j, 1) } {
                    let slot := mload(at(0x7c0, u16at(add(ep, add(2, mul(j, 2))))))
                    v := addmod(v, mulmod(mload(add(wp, shl(5, j))), slot, R), R)
                }
            }
            // One set's commitments and evaluations, given its weights at wp, cc = z_s0 / z_s and
            // rcoeff = cc / Σ weights.
            function shplonkSet(sp, wp, cc, rcoeff) {
                let R := r()
                let ns := u8at(sp)
                let np := u16at(add(add(sp, 1), ns))
                let ep := add(add(add(sp, 3), ns), mul(ns, 0x20))
                let gm := mload(0x6a0)
                for { let t := 0 } lt(t, np) { t := add(t, 1) } {
                    addCommitment(u16at(ep), mulmod(gm, cc, R))
                    let reval := mulmod(interpolate(ep, ns, wp), rcoeff, R)
                    mstore(0x660, addmod(mload(0x660), neg(mulmod(gm, reval, R)), R))
                    gm := mulmod(gm, mload(0x520), R)
                    ep := add(ep, add(2, mul(ns, 2)))
                }
                mstore(0x6a0, mulmod(mload(0x6a0), mload(0x540), R))
            }
            // Scratch: every set's weights (Σ ns words), then every set's z_s, then every set's
            // weight sum, then the batch inversions' prefix products. Two inversions in all.
            function shplonk() {
                let R := r()
                mstore(0x620, 0)
                mstore(0x640, 0)
                mstore(0x660, 0)
                mstore(0x6a0, 1)
                let nsets := mload(0x360)
                let W := mload(0x6c0)
                let sp := mload(0x480)
                let nw := 0
                for { let s := 0 } lt(s, nsets) { s := add(s, 1) } {
                    nw := add(nw, u8at(sp))
                    sp := nextSet(sp)
                }
                let Z := add(W, shl(5, nw))
                let Q := add(Z, shl(5, nsets))
                let T := add(Q, shl(5, nsets))
                sp := mload(0x480)
                let wp := W
                for { let s := 0 } lt(s, nsets) { s := add(s, 1) } {
                    mstore(add(Z, shl(5, s)), denominators(sp, wp))
                    wp := add(wp, shl(5, u8at(sp)))
                    sp := nextSet(sp)
                }
                mstore(0x680, mload(Z))
                batchInv(W, add(nw, nsets), T)
                sp := mload(0x480)
                wp := W
                for { let s := 0 } lt(s, nsets) { s := add(s, 1) } {
                    let ns := u8at(sp)
                    let wsum := 0
                    for { let j := 0 } lt(j, ns) { j := add(j, 1) } { wsum := addmod(wsum, mload(add(wp, shl(5, j))), R) }
                    mstore(add(Q, shl(5, s)), wsum)
                    wp := add(wp, shl(5, ns))
                    sp := nextSet(sp)
                }
                batchInv(Q, nsets, T)
                sp := mload(0x480)
                wp := W
                for { let s := 0 } lt(s, nsets) { s := add(s, 1) } {
                    let cc := 1
                    if s { cc := mulmod(mload(0x680), mload(add(Z, shl(5, s))), R) }
                    shplonkSet(sp, wp, cc, mulmod(cc, mload(add(Q, shl(5, s))), R))
                    wp := add(wp, shl(5, u8at(sp)))
                    sp := nextSet(sp)
                }
                let g := word(3)
                accMul(mload(g), mload(add(g, 0x20)), mload(0x660))
                accMulCalldata(mload(0x580), neg(mload(0x680)))
                accMulCalldata(mload(0x5a0), mload(0x560))
            }

            // ---- e(lhs, g2) · e(W', -s·g2) == 1 ------------------------------------------------
            function pairing() {
                let inp := mload(0x6c0)
                mstore(inp, mload(0x620))
                mstore(add(inp, 0x20), mload(0x640))
                for { let i := 0 } lt(i, 4) { i := add(i, 1) } {
                    mstore(add(inp, add(0x40, mul(i, 0x20))), mload(word(add(5, i))))
                    mstore(add(inp, add(0x100, mul(i, 0x20))), mload(word(add(9, i))))
                }
                let wp := mload(0x5a0)
                mstore(add(inp, 0xc0), calldataload(wp))
                mstore(add(inp, 0xe0), calldataload(add(wp, 0x20)))
                if iszero(staticcall(gas(), 0x08, inp, 0x180, 0x00, 0x20)) { fail() }
                if iszero(eq(mload(0x00), 1)) { fail() }
            }

            loadData(vk0, vk1, vk2)
            readTranscript()
            lagranges()
            fillSlots()
            switch prog
            case 0 { interpretProgram() }
            default { runProgram(prog) }
            shplonk()
            pairing()
            mstore(0x00, 1)
            return(0x00, 0x20)
        }
    }
}
