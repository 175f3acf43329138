<#
.SYNOPSIS
  Logs one live migration for lmlab: PerfMon counters on this host (typeperf, PDH-CSV 4.0) and
  the VMMS 20415/20417 events, in the files `lmlab overlay` and `lmlab calibrate` read.

.DESCRIPTION
  READ-ONLY. It changes nothing: it runs typeperf (which only samples counters) and
  Get-WinEvent, and writes two files in -Folder. Run it on the source and on the destination host
  (as an administrator), start it a few seconds before the migration and let it run a few seconds
  past its end: lmlab takes each host's idle CPU from the samples outside the migration.

  Counters (docs/measurements.md): Hyper-V VM Live Migration (every instance), SMB Direct
  Connection and SMB Direct (_Total), RDMA Activity, Network Adapter and Processor Information
  (_Total). Counter names are those of an English Windows; on another language, replace them
  with the names `typeperf -q` lists.

.PARAMETER Folder
  Where the files go: <HOST>-perfmon.csv and <HOST>-vmms.xml. Default: the current folder.

.PARAMETER Seconds
  How long to sample, one sample a second. Default: 120.

.EXAMPLE
  .\Measure-LmlabMigration.ps1 -Folder C:\temp\lm -Seconds 90
  lmlab overlay mylab.toml --measured HV1-perfmon.csv HV2-perfmon.csv HV1-vmms.xml
#>
[CmdletBinding()]
param([string]$Folder = '.', [int]$Seconds = 120)

Set-StrictMode -Version 2
$ErrorActionPreference = 'Stop'

$counters = @(
  '\Hyper-V VM Live Migration(*)\Transfer pass: Number',
  '\Hyper-V VM Live Migration(*)\Transfer pass: Dirty Page Count',
  '\Hyper-V VM Live Migration(*)\Transfer Pass: Is blackout',
  '\Hyper-V VM Live Migration(*)\SMB Transport: Bytes Sent/sec',
  '\Hyper-V VM Live Migration(*)\TCP Transport: Bytes Sent/sec',
  '\SMB Direct Connection(_Total)\Bytes RDMA Written/sec',
  '\SMB Direct Connection(_Total)\Bytes RDMA Read/sec',
  '\SMB Direct(_Total)\Bytes RDMA Written/sec',
  '\SMB Direct(_Total)\Bytes RDMA Read/sec',
  '\RDMA Activity(*)\RDMA Outbound Bytes/sec',
  '\RDMA Activity(*)\RDMA Inbound Bytes/sec',
  '\Network Adapter(*)\Bytes Sent/sec',
  '\Network Adapter(*)\Bytes Received/sec',
  '\Processor Information(_Total)\% Processor Time'
)

$name = $env:COMPUTERNAME
New-Item -ItemType Directory -Force -Path $Folder | Out-Null
$list = Join-Path $Folder "$name-counters.txt"
$csv = Join-Path $Folder "$name-perfmon.csv"
$xml = Join-Path $Folder "$name-vmms.xml"
# typeperf leaves out counters this host lacks (the other SMB Direct set name, say).
$counters | Set-Content -Path $list -Encoding ASCII
$start = Get-Date
& typeperf.exe -cf $list -si 1 -sc $Seconds -f CSV -o $csv -y | Out-Null

# The events of this run: logged between the start and now.
$events = @(Get-WinEvent -FilterHashtable @{
    LogName   = 'Microsoft-Windows-Hyper-V-VMMS-Admin'
    Id        = 20415, 20417
    StartTime = $start
  } -ErrorAction SilentlyContinue)
$body = '<Events>' + (($events | ForEach-Object { $_.ToXml() }) -join "`r`n") + '</Events>'
[System.IO.File]::WriteAllText((Resolve-Path -LiteralPath $Folder).Path + "\$name-vmms.xml", $body,
  (New-Object System.Text.UTF8Encoding($false)))
Remove-Item -LiteralPath $list
Write-Host "wrote $csv and $xml ($($events.Count) VMMS events)"
