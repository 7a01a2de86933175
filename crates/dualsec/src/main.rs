//! `dualsec`: the gateway binary.
fn main() {
    println!("dualsec");
}
