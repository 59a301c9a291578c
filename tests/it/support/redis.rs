//! `TestRedis`: a real Redis for tests. Uses `TEST_REDIS_URL` when set, otherwise spawns a
//! throw-away `redis-server` on a free port (no persistence) and kills it on drop. Without
//! `redis-server` the tests are skipped loudly, except under `CI=true`, where they fail.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// A Redis server for one test.
pub struct TestRedis {
    url: String,
    /// The spawned server and how to start it again; `None` for `TEST_REDIS_URL`.
    spawned: Option<Spawned>,
}

struct Spawned {
    port: u16,
    password: Option<String>,
    child: Option<Child>,
}

impl TestRedis {
    /// `TEST_REDIS_URL` when set, otherwise a fresh server; `None` (skip) when neither is
    /// available outside CI.
    pub fn start() -> Option<Self> {
        match std::env::var("TEST_REDIS_URL") {
            Ok(url) if !url.trim().is_empty() => {
                wait_for_ping(&url).unwrap_or_else(|e| panic!("TEST_REDIS_URL unreachable: {e}"));
                Some(TestRedis { url, spawned: None })
            }
            _ => Self::spawn(None),
        }
    }

    /// Always a server of its own (it can be stopped and restarted), requiring `password` when
    /// given; `None` (skip) when `redis-server` is missing outside CI.
    pub fn spawn(password: Option<&str>) -> Option<Self> {
        Self::spawn_at(free_port(), password)
    }

    /// Like [`TestRedis::spawn`] on a given port.
    pub fn spawn_at(port: u16, password: Option<&str>) -> Option<Self> {
        let mut spawned = Spawned {
            port,
            password: password.map(str::to_string),
            child: None,
        };
        if let Err(e) = spawned.run() {
            skip_or_fail(&e);
            return None;
        }
        let url = match password {
            Some(pw) => format!("redis://:{pw}@127.0.0.1:{port}/"),
            None => format!("redis://127.0.0.1:{port}/"),
        };
        if let Err(e) = wait_for_ping(&url) {
            panic!("redis-server on port {port} did not answer: {e}");
        }
        Some(TestRedis {
            url,
            spawned: Some(spawned),
        })
    }

    /// Connection URL (may carry the password).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Kills the spawned server and waits for it to exit.
    pub fn stop(&mut self) {
        let spawned = self
            .spawned
            .as_mut()
            .expect("stop() needs a spawned server");
        spawned.kill();
    }

    /// Starts the server again on the same port and waits until it answers.
    pub fn restart(&mut self) {
        let spawned = self
            .spawned
            .as_mut()
            .expect("restart() needs a spawned server");
        spawned.kill();
        spawned
            .run()
            .unwrap_or_else(|e| panic!("cannot restart redis-server: {e}"));
        wait_for_ping(&self.url).unwrap_or_else(|e| panic!("restarted redis-server silent: {e}"));
    }

    /// A plain connection for looking at keys from the outside.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.url.as_str()).expect("valid test URL");
        client
            .get_multiplexed_async_connection()
            .await
            .expect("test Redis reachable")
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        if let Some(spawned) = self.spawned.as_mut() {
            spawned.kill();
        }
    }
}

impl Spawned {
    fn run(&mut self) -> std::io::Result<()> {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"]);
        if let Some(pw) = &self.password {
            cmd.args(["--requirepass", pw]);
        }
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
        self.child = Some(child);
        Ok(())
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A unique key prefix per test (and per process), so tests sharing one Redis never collide.
pub fn unique_prefix(test: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("test:{}:{n}:{test}:", std::process::id())
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

fn skip_or_fail(e: &std::io::Error) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    if ci {
        panic!(
            "CI=true but redis-server cannot be started ({e}); install it or set TEST_REDIS_URL"
        );
    }
    // Straight to stderr: libtest captures `eprintln!` of passing tests, and a skip must show.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!! SKIPPED Redis test: cannot start redis-server ({e}).\n\
         !!!!!!!! Install redis-server or set TEST_REDIS_URL to run it.\n"
    );
}

fn wait_for_ping(url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let pong = client
            .get_connection_with_timeout(Duration::from_millis(200))
            .and_then(|mut con| redis::cmd("PING").query::<String>(&mut con));
        match pong {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => return Err(e.to_string()),
            Err(_) => sleep(Duration::from_millis(20)),
        }
    }
}
