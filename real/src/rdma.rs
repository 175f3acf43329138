//! RDMA transport (feature `rdma`, Linux, rdma-sys over libibverbs/librdmacm).
//!
//! The control connection (authentication, passes, verification) stays on TCP exactly as for TCP
//! channels; only page bytes move differently: the destination registers its image's chunks for
//! remote write and sends their addresses and keys; the source registers its own chunks and posts
//! one RDMA WRITE per run of consecutive dirty pages straight into the destination's image, so the
//! destination's CPU takes no part in the copy (what SMB Direct does for Hyper-V).
//!
//! Invariants and limits:
//! - hardware is detected at run time (`/sys/class/infiniband_verbs/abi_version`, then
//!   `ibv_get_device_list`); with none, every entry point says "no RDMA device found; use TCP";
//! - a write counts only when its completion reports success; any other status fails the
//!   migration (the source stays authoritative);
//! - RDMA writes bypass the destination's per-page bookkeeping, so the pause of an RDMA migration
//!   ends with the full-image comparison rather than the page-digest table;
//! - this path is compiled in CI but has not run on hardware here: no machine of ours has an RDMA
//!   NIC or the soft-RoCE module (docs/real-transport.md).
#![allow(unsafe_code)]

use super::RdmaError;
use super::wire::RdmaRegion;
use rdma_sys::*;
use std::ffi::{CStr, CString};
use std::ptr;

/// Names of the RDMA devices this host has (empty: none).
pub fn devices() -> Result<Vec<String>, std::io::Error> {
    if !std::path::Path::new("/sys/class/infiniband_verbs/abi_version").exists() {
        return Ok(Vec::new());
    }
    let mut n: i32 = 0;
    // SAFETY: ibv_get_device_list returns NULL or an array of `n` device pointers that stays valid
    // until ibv_free_device_list, which we call before returning.
    unsafe {
        let list = ibv_get_device_list(&mut n);
        if list.is_null() {
            return Err(std::io::Error::last_os_error());
        }
        let mut names = Vec::new();
        for i in 0..n.max(0) as usize {
            let dev = *list.add(i);
            if dev.is_null() {
                break;
            }
            let name = ibv_get_device_name(dev);
            if !name.is_null() {
                names.push(CStr::from_ptr(name).to_string_lossy().into_owned());
            }
        }
        ibv_free_device_list(list);
        Ok(names)
    }
}

/// Fails (with the user-facing sentence as its text) when this host has no RDMA device.
pub fn require_device() -> Result<(), RdmaError> {
    match devices() {
        Ok(d) if !d.is_empty() => Ok(()),
        Ok(_) => Err(RdmaError::NoDevice),
        Err(e) => Err(RdmaError::DeviceList(e)),
    }
}

/// The failure of librdmacm/libibverbs call `call`, with the OS error it left.
fn err(call: &'static str) -> RdmaError {
    RdmaError::Call {
        call,
        error: std::io::Error::last_os_error(),
    }
}

/// One connected RDMA endpoint (reliable connection) with the memory it registered.
#[derive(Debug)]
pub struct Endpoint {
    id: *mut rdma_cm_id,
    mrs: Vec<*mut ibv_mr>,
}

// SAFETY: the endpoint is used by one thread at a time (it is moved, not shared); libibverbs
// objects may be used from any thread.
unsafe impl Send for Endpoint {}

impl Drop for Endpoint {
    fn drop(&mut self) {
        // SAFETY: every pointer was returned by librdmacm/libibverbs and is released once.
        unsafe {
            rdma_disconnect(self.id);
            for &mr in &self.mrs {
                if !mr.is_null() {
                    ibv_dereg_mr(mr);
                }
            }
            rdma_destroy_ep(self.id);
        }
    }
}

fn addrinfo(host: Option<&str>, port: u16, passive: bool) -> Result<*mut rdma_addrinfo, RdmaError> {
    let invalid = |e: std::ffi::NulError| RdmaError::Invalid(e.to_string());
    let node = host.map(CString::new).transpose().map_err(invalid)?;
    let service = CString::new(port.to_string()).map_err(invalid)?;
    // SAFETY: a zeroed rdma_addrinfo is a valid "no hints" value; the strings outlive the call.
    unsafe {
        let mut hints: rdma_addrinfo = std::mem::zeroed();
        hints.ai_port_space = rdma_port_space::RDMA_PS_TCP as i32;
        if passive {
            hints.ai_flags = RAI_PASSIVE as i32;
        }
        let mut res = ptr::null_mut();
        let rc = rdma_getaddrinfo(
            node.as_ref().map_or(ptr::null(), |n| n.as_ptr()),
            service.as_ptr(),
            &hints,
            &mut res,
        );
        if rc != 0 || res.is_null() {
            return Err(err("rdma_getaddrinfo"));
        }
        Ok(res)
    }
}

fn qp_attr() -> ibv_qp_init_attr {
    // SAFETY: all-zero is a valid starting value for this plain C struct.
    let mut a: ibv_qp_init_attr = unsafe { std::mem::zeroed() };
    a.cap.max_send_wr = 256;
    a.cap.max_recv_wr = 1;
    a.cap.max_send_sge = 1;
    a.cap.max_recv_sge = 1;
    a.qp_type = ibv_qp_type::IBV_QPT_RC;
    a.sq_sig_all = 0;
    a
}

/// Destination: a listening endpoint on `port` (0 = any; the chosen port is returned).
#[derive(Debug)]
pub struct Listener {
    id: *mut rdma_cm_id,
}

// SAFETY: as for Endpoint.
unsafe impl Send for Listener {}

impl Drop for Listener {
    fn drop(&mut self) {
        // SAFETY: created by rdma_create_ep, destroyed once.
        unsafe { rdma_destroy_ep(self.id) }
    }
}

impl Listener {
    pub fn bind(port: u16) -> Result<(Listener, u16), RdmaError> {
        require_device()?;
        let res = addrinfo(None, port, true)?;
        let mut attr = qp_attr();
        let mut id = ptr::null_mut();
        // SAFETY: `res` came from rdma_getaddrinfo and is freed once; `id` is checked.
        unsafe {
            let rc = rdma_create_ep(&mut id, res, ptr::null_mut(), &mut attr);
            rdma_freeaddrinfo(res);
            if rc != 0 || id.is_null() {
                return Err(err("rdma_create_ep (listen)"));
            }
            if rdma_listen(id, 1) != 0 {
                rdma_destroy_ep(id);
                return Err(err("rdma_listen"));
            }
            let port = u16::from_be(rdma_get_src_port(id));
            Ok((Listener { id }, port))
        }
    }

    /// Waits for the source, registers `regions` (the destination image's chunks) for remote
    /// write, accepts, and returns the endpoint with what the source needs to write into them.
    pub fn accept(
        &self,
        regions: &[(*mut u8, usize)],
    ) -> Result<(Endpoint, Vec<RdmaRegion>), RdmaError> {
        // SAFETY: pointers come from librdmacm and are checked; each region is memory owned by the
        // destination image, which outlives the endpoint (the session holds both).
        unsafe {
            let mut id = ptr::null_mut();
            if rdma_get_request(self.id, &mut id) != 0 || id.is_null() {
                return Err(err("rdma_get_request"));
            }
            let mut ep = Endpoint {
                id,
                mrs: Vec::new(),
            };
            let access = (ibv_access_flags::IBV_ACCESS_LOCAL_WRITE.0
                | ibv_access_flags::IBV_ACCESS_REMOTE_WRITE.0) as i32;
            let mut out = Vec::with_capacity(regions.len());
            for &(addr, len) in regions {
                let mr = ibv_reg_mr((*id).pd, addr.cast(), len, access);
                if mr.is_null() {
                    return Err(err("ibv_reg_mr (destination image)"));
                }
                ep.mrs.push(mr);
                out.push(RdmaRegion {
                    addr: addr as u64,
                    len: len as u64,
                    rkey: (*mr).rkey,
                });
            }
            if rdma_accept(id, ptr::null_mut()) != 0 {
                return Err(err("rdma_accept"));
            }
            Ok((ep, out))
        }
    }
}

impl Endpoint {
    /// Source: connects to the destination's RDMA port and registers `local` (the source
    /// image's chunks) for reading by the NIC.
    pub fn connect(
        host: &str,
        port: u16,
        local: &[(*mut u8, usize)],
    ) -> Result<Endpoint, RdmaError> {
        require_device()?;
        let res = addrinfo(Some(host), port, false)?;
        let mut attr = qp_attr();
        // SAFETY: as in Listener::bind / accept.
        unsafe {
            let mut id = ptr::null_mut();
            let rc = rdma_create_ep(&mut id, res, ptr::null_mut(), &mut attr);
            rdma_freeaddrinfo(res);
            if rc != 0 || id.is_null() {
                return Err(err("rdma_create_ep (connect)"));
            }
            let mut ep = Endpoint {
                id,
                mrs: Vec::new(),
            };
            let access = ibv_access_flags::IBV_ACCESS_LOCAL_WRITE.0 as i32;
            for &(addr, len) in local {
                let mr = ibv_reg_mr((*id).pd, addr.cast(), len, access);
                if mr.is_null() {
                    return Err(err("ibv_reg_mr (source image)"));
                }
                ep.mrs.push(mr);
            }
            if rdma_connect(id, ptr::null_mut()) != 0 {
                return Err(err("rdma_connect"));
            }
            Ok(ep)
        }
    }

    /// Writes `len` bytes at `offset` of local region `chunk` to `remote` at `remote_offset`,
    /// and waits for the completion. Callers batch runs of consecutive pages into one write.
    pub fn write(
        &mut self,
        chunk: usize,
        offset: usize,
        len: usize,
        remote: RdmaRegion,
        remote_offset: u64,
    ) -> Result<(), RdmaError> {
        let mr = *self
            .mrs
            .get(chunk)
            .ok_or_else(|| RdmaError::Invalid("no such local region".into()))?;
        if remote_offset + len as u64 > remote.len {
            return Err(RdmaError::Invalid(
                "write past the end of the remote region".into(),
            ));
        }
        // SAFETY: `mr` registers the local chunk, `offset + len` lies inside it (callers pass page
        // runs of that chunk), and the remote range was checked against the peer's region.
        unsafe {
            let addr = ((*mr).addr as *mut u8).add(offset);
            let rc = rdma_post_write(
                self.id,
                ptr::null_mut(),
                addr.cast(),
                len,
                mr,
                ibv_send_flags::IBV_SEND_SIGNALED.0 as i32,
                remote.addr + remote_offset,
                remote.rkey,
            );
            if rc != 0 {
                return Err(err("rdma_post_write"));
            }
            let mut wc: ibv_wc = std::mem::zeroed();
            if rdma_get_send_comp(self.id, &mut wc) <= 0 {
                return Err(err("rdma_get_send_comp"));
            }
            if wc.status != ibv_wc_status::IBV_WC_SUCCESS {
                return Err(RdmaError::Completion(wc.status));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_hardware_rdma_says_so_clearly() {
        // No machine here has an RDMA device; where one exists this still must not fail.
        match devices() {
            Ok(d) if d.is_empty() => {
                let e = require_device().unwrap_err();
                assert!(matches!(e, RdmaError::NoDevice), "{e:?}");
                assert_eq!(e.to_string(), "no RDMA device found; use TCP");
                assert!(Listener::bind(0).is_err());
            }
            Ok(d) => println!("RDMA devices: {d:?}"),
            Err(e) => assert!(
                require_device()
                    .unwrap_err()
                    .to_string()
                    .contains("use TCP"),
                "{e}"
            ),
        }
    }
}
